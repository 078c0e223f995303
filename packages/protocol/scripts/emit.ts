/**
 * Emits TypeScript for one message model: interfaces, `create*` defaults, and the
 * `read*` / `size*` / `write*` functions (Kafka's two-pass encoding), with straight-line
 * `if (v >= N)` gates, no closures per field, and unknown tagged fields preserved.
 */
import type { FieldModel, MessageModel, StructModel } from './model.ts'
import { OPEN, type PrimitiveType, type Range, covers, intersect } from './spec.ts'

/** Tri-state of a version-dependent property within a range: always, never, or a runtime test. */
type Tri = true | false | string

function rangeTest (range: Range | null, within: Range | null): Tri {
  if (range === null || within === null) return false
  const i = intersect(range, within)
  if (i === null) return false
  if (covers(range, within)) return true
  const parts: string[] = []
  if (range.min > within.min) parts.push(`v >= ${range.min}`)
  if (range.max < within.max) parts.push(`v <= ${range.max}`)
  return parts.join(' && ')
}

function pick (test: Tri, yes: string, no: string): string {
  if (test === true) return yes
  if (test === false) return no
  return `(${test} ? ${yes} : ${no})`
}

/** A one-line statement choosing between two statements (no line starts with `(`, so ASI is safe). */
function pickStatement (test: Tri, yes: string, no: string): string {
  if (test === true) return yes
  if (test === false) return no
  return `if (${test}) { ${yes} } else { ${no} }`
}

function guard (test: Tri): string | null {
  if (test === true) return null
  if (test === false) return 'false'
  return test
}

const FIXED: Partial<Record<PrimitiveType, number>> = {
  bool: 1, int8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, float64: 8, uuid: 16
}

const FIXED_READ: Partial<Record<PrimitiveType, string>> = {
  bool: 'readBool', int8: 'readInt8', int16: 'readInt16', uint16: 'readUInt16', int32: 'readInt32',
  uint32: 'readUInt32', int64: 'readInt64', float64: 'readFloat64', uuid: 'readUuid'
}

const FIXED_WRITE: Partial<Record<PrimitiveType, string>> = {
  bool: 'writeBool', int8: 'writeInt8', int16: 'writeInt16', uint16: 'writeUInt16', int32: 'writeInt32',
  uint32: 'writeUInt32', int64: 'writeInt64', float64: 'writeFloat64', uuid: 'writeUuid'
}

function tsPrimitive (type: PrimitiveType): string {
  switch (type) {
    case 'bool': return 'boolean'
    case 'int64': return 'bigint'
    case 'string': case 'uuid': return 'string'
    case 'bytes': case 'records': return 'Buffer'
    default: return 'number'
  }
}

export class Emitter {
  readonly lines: string[] = []
  readonly imports = new Set<string>()
  #message!: MessageModel

  line (text = ''): void {
    this.lines.push(text)
  }

  emitMessage (message: MessageModel): void {
    this.#message = message
    for (const struct of message.structs) this.#emitInterface(struct)
    for (const struct of message.structs) this.#emitCreate(struct)
    for (const struct of message.structs) if (struct.needsIsDefault) this.#emitIsDefault(struct)
    for (const struct of message.structs) this.#emitRead(struct)
    for (const struct of message.structs) this.#emitSize(struct)
    for (const struct of message.structs) this.#emitWrite(struct)
  }

  // ---- helpers over the current message

  #flexTest (within: Range | null, field?: FieldModel): Tri {
    const flex = field?.flexible !== undefined ? field.flexible : this.#message.flexible
    return rangeTest(flex, within)
  }

  #structFlexible (struct: StructModel): Tri {
    return rangeTest(this.#message.flexible, struct.context)
  }

  #present (field: FieldModel, struct: StructModel): Range | null {
    return intersect(field.versions, struct.context)
  }

  /** Fields present somewhere in the struct's context, in wire order. */
  #fields (struct: StructModel): FieldModel[] {
    return struct.fields.filter((f) => this.#present(f, struct) !== null)
  }

  #untagged (struct: StructModel): FieldModel[] {
    return this.#fields(struct).filter((f) => {
      const present = this.#present(f, struct)
      // A field tagged in every version where it is present lives only in the tagged section.
      return !(f.tagged !== null && covers(f.tagged, present))
    })
  }

  #tagged (struct: StructModel): FieldModel[] {
    return this.#fields(struct).filter((f) => f.tagged !== null).sort((a, b) => a.tag! - b.tag!)
  }

  #isFlexibleStruct (struct: StructModel): boolean {
    return this.#structFlexible(struct) !== false
  }

  // ---- types and defaults

  #fieldType (field: FieldModel): string {
    let t: string
    if (field.kind === 'primitive') t = tsPrimitive(field.type!)
    else if (field.kind === 'struct') t = field.struct!.name
    else t = `${field.type !== null ? tsPrimitive(field.type) : field.struct!.name}[]`
    const nullableDefault = field.default === 'null'
    if (field.nullable !== null || nullableDefault || field.type === 'records') t += ' | null'
    return t
  }

  #defaultValue (field: FieldModel): string {
    const d = field.default
    if (d === 'null') return 'null'
    if (field.kind === 'array') return '[]'
    if (field.kind === 'struct') return `create${field.struct!.name}()`
    switch (field.type!) {
      case 'bool': return d === true || d === 'true' ? 'true' : 'false'
      case 'string': return quote(d === undefined ? '' : String(d))
      case 'uuid': this.imports.add('ZERO_UUID'); return 'ZERO_UUID'
      case 'bytes': this.imports.add('EMPTY_BUFFER'); return 'EMPTY_BUFFER'
      case 'records': return 'null'
      case 'int64': return `${d === undefined ? 0n : BigInt(d)}n`
      case 'float64': return String(d === undefined ? 0 : Number(d))
      default: return String(d === undefined ? 0 : Number(d))
    }
  }

  /** An expression true when `value` differs from the field's default (used for tagged fields). */
  #differsFromDefault (field: FieldModel, value: string): string {
    const d = this.#defaultValue(field)
    if (d === 'null') return `${value} !== null`
    const orNull = this.#fieldType(field).endsWith('| null') ? `${value} !== null && ` : ''
    if (field.kind === 'array') return `${orNull}${value}.length > 0`
    if (field.kind === 'struct') return `${orNull}!isDefault${field.struct!.name}(${value}, v)`
    if (field.type === 'bytes') return `${orNull}${value}.length > 0`
    return `${value} !== ${d}`
  }

  // ---- interface

  #emitInterface (struct: StructModel): void {
    const message = this.#message
    const versions = struct.root ? `versions ${message.valid.min}-${message.valid.max}` : `in versions ${fmtRange(struct.context)}`
    this.line(`/** ${struct.root ? `${message.name} (${versions}${message.flexible ? `, flexible from ${message.flexible.min}` : ''})` : `${struct.kafkaName}, ${versions}`}. */`)
    this.line(`export interface ${struct.name} {`)
    for (const field of this.#fields(struct)) {
      const notes: string[] = [`Versions ${fmtRange(field.versions)}`]
      if (field.nullable !== null) notes.push(`nullable ${fmtRange(field.nullable)}`)
      if (field.tagged !== null) notes.push(`tag ${field.tag} in ${fmtRange(field.tagged)}`)
      const about = field.about === undefined ? '' : ' ' + field.about.replace(/\*\//g, '* /').replace(/\s+/g, ' ').trim()
      this.line(`  /**${about} (${notes.join('; ')}) */`)
      this.line(`  ${field.name}: ${this.#fieldType(field)}`)
    }
    if (this.#isFlexibleStruct(struct)) {
      this.imports.add('type TaggedField')
      this.line('  /** Tagged fields this version does not know, kept to be written back unchanged. */')
      this.line('  unknownTaggedFields?: TaggedField[]')
    }
    this.line('}')
    this.line()
  }

  #emitCreate (struct: StructModel): void {
    this.line(`/** A ${struct.name} with every field at its default. */`)
    this.line(`export function create${struct.name} (): ${struct.name} {`)
    this.line('  return {')
    for (const field of this.#fields(struct)) this.line(`    ${field.name}: ${this.#defaultValue(field)},`)
    this.line('  }')
    this.line('}')
    this.line()
  }

  #emitIsDefault (struct: StructModel): void {
    this.line(`function isDefault${struct.name} (m: ${struct.name}, v: number): boolean {`)
    const checks: string[] = []
    for (const field of this.#fields(struct)) {
      const present = rangeTest(this.#present(field, struct), struct.context)
      const differs = this.#differsFromDefault(field, `m.${field.name}`)
      checks.push(present === true ? `(${differs})` : `(${present} && ${differs})`)
    }
    if (this.#isFlexibleStruct(struct)) checks.push('m.unknownTaggedFields !== undefined')
    const start = this.lines.length
    this.line(checks.length === 0 ? '  return true' : `  return !(${checks.join(' || ')})`)
    this.#closeBody(start, ['m', 'v'])
    this.line('}')
    this.line()
  }

  // ---- read

  #readScalar (field: FieldModel, type: PrimitiveType, rd: string, within: Range | null, inTag: boolean): string {
    const fixed = FIXED_READ[type]
    if (fixed !== undefined) {
      if (type === 'uuid' || type === 'int64') return `${rd}.${fixed}()`
      return `${rd}.${fixed}()`
    }
    const compact = inTag ? true : this.#flexTest(within, field)
    const nullable: Tri = type === 'records' ? true : rangeTest(field.nullable, within)
    const kind = type === 'string' ? 'String' : 'Bytes'
    const plain = (c: boolean, n: boolean): string => `${rd}.read${c ? 'Compact' : ''}${n ? 'Nullable' : ''}${kind}()`
    const byNull = (c: boolean): string => pick(nullable, plain(c, true), plain(c, false))
    return pick(compact, byNull(true), byNull(false))
  }

  #minSize (field: FieldModel, compact: boolean): number {
    if (field.kind === 'struct') return this.#minStructSize(field.struct!)
    const type = field.type!
    const fixed = FIXED[type]
    if (fixed !== undefined) return fixed
    if (compact) return 1
    return type === 'string' ? 2 : 4
  }

  #minStructSize (struct: StructModel): number {
    let min = Number.POSITIVE_INFINITY
    for (let v = struct.context.min; v <= struct.context.max; v++) {
      const at = { min: v, max: v }
      const flexible = rangeTest(this.#message.flexible, at) === true
      let size = flexible ? 1 : 0
      for (const field of struct.fields) {
        if (intersect(field.versions, at) === null) continue
        if (field.tagged !== null && intersect(field.tagged, at) !== null) continue
        const compact = this.#flexTest(at, field) === true
        if (field.kind === 'array') size += compact ? 1 : 4
        else if (field.kind === 'struct') size += rangeTest(field.nullable, at) === true ? 1 : this.#minStructSize(field.struct!)
        else size += this.#minSize(field, compact)
      }
      min = Math.min(min, size)
    }
    return Math.max(1, min)
  }

  /** Statements reading one field value from `rd` into `target`. */
  #readInto (field: FieldModel, target: string, rd: string, within: Range | null, inTag: boolean, indent: string): void {
    const nullable = rangeTest(field.nullable, within)
    if (field.kind === 'primitive') {
      this.line(`${indent}${target} = ${this.#readScalar(field, field.type!, rd, within, inTag)}`)
      return
    }
    if (field.kind === 'struct') {
      const read = `read${field.struct!.name}(${rd}, v)`
      if (nullable === false) this.line(`${indent}${target} = ${read}`)
      else this.line(`${indent}${target} = ${pick(nullable, `(${rd}.readInt8() < 0 ? null : ${read})`, read)}`)
      return
    }
    const compact = inTag ? true : this.#flexTest(within, field)
    const elementMin = this.#minSize(field, compact !== false)
    const lengthRead = pick(compact, `${rd}.readCompactArrayLength(${elementMin})`, `${rd}.readArrayLength(${elementMin})`)
    const elementType = field.type !== null ? tsPrimitive(field.type) : field.struct!.name
    const element = field.type !== null
      ? this.#readScalar({ ...field, nullable: null }, field.type, rd, within, inTag)
      : `read${field.struct!.name}(${rd}, v)`
    this.line(`${indent}{`)
    this.line(`${indent}  const n = ${lengthRead}`)
    this.line(`${indent}  if (n < 0) {`)
    if (nullable === true) {
      this.line(`${indent}    ${target} = null`)
    } else if (nullable === false) {
      this.line(`${indent}    ${rd}.fail('Non-nullable array ${this.#message.name}.${field.kafkaName} is null')`)
    } else {
      this.line(`${indent}    if (!(${nullable})) ${rd}.fail('Non-nullable array ${this.#message.name}.${field.kafkaName} is null')`)
      this.line(`${indent}    ${target} = null`)
    }
    this.line(`${indent}  } else {`)
    this.line(`${indent}    const a: ${elementType}[] = []`)
    this.line(`${indent}    for (let i = 0; i < n; i++) a.push(${element})`)
    this.line(`${indent}    ${target} = a`)
    this.line(`${indent}  }`)
    this.line(`${indent}}`)
  }

  #emitRead (struct: StructModel): void {
    this.imports.add('type Reader')
    const exported = struct.root ? 'export ' : ''
    if (struct.root) this.line(`/** Decodes a ${struct.name} of version \`v\`; throws ProtocolDecodeError on malformed input. */`)
    this.line(`${exported}function read${struct.name} (r: Reader, v: number): ${struct.name} {`)
    const start = this.lines.length
    const fields = this.#fields(struct)
    const untagged = new Set(this.#untagged(struct))
    for (const field of fields) {
      this.line(`  let f_${field.name}: ${this.#fieldType(field)} = ${this.#defaultValue(field)}`)
    }
    for (const field of fields) {
      if (!untagged.has(field)) continue
      const present = this.#present(field, struct)
      const untaggedRange = field.tagged === null ? present : untaggedPart(present!, field.tagged)
      const test = guard(rangeTest(untaggedRange, struct.context))
      if (test === null) {
        this.#readInto(field, `f_${field.name}`, 'r', untaggedRange, false, '  ')
      } else {
        this.line(`  if (${test}) {`)
        this.#readInto(field, `f_${field.name}`, 'r', untaggedRange, false, '    ')
        this.line('  }')
      }
    }
    const flexible = this.#structFlexible(struct)
    if (flexible !== false) {
      this.imports.add('type TaggedField')
      this.line('  let unknownTaggedFields: TaggedField[] | undefined')
      const test = guard(flexible)
      const indent = test === null ? '  ' : '    '
      if (test !== null) this.line(`  if (${test}) {`)
      this.line(`${indent}const count = r.readUnsignedVarInt()`)
      this.line(`${indent}let last = -1`)
      this.line(`${indent}for (let i = 0; i < count; i++) {`)
      this.line(`${indent}  const tag = r.readUnsignedVarInt()`)
      this.line(`${indent}  const size = r.readUnsignedVarInt()`)
      this.line(`${indent}  if (tag <= last) r.fail(\`Invalid or out-of-order tag \${tag}\`)`)
      this.line(`${indent}  last = tag`)
      let first = true
      for (const field of this.#tagged(struct)) {
        const tagTest = guard(rangeTest(field.tagged, struct.context))
        const cond = tagTest === null ? `tag === ${field.tag}` : `tag === ${field.tag} && ${tagTest}`
        this.line(`${indent}  ${first ? '' : '} else '}if (${cond}) {`)
        this.line(`${indent}    const t = r.sub(size)`)
        this.#readInto(field, `f_${field.name}`, 't', field.tagged, true, `${indent}    `)
        first = false
      }
      const keep = 'unknownTaggedFields = keepTaggedField(unknownTaggedFields, tag, r.readRaw(size))'
      this.imports.add('keepTaggedField')
      if (first) {
        this.line(`${indent}  ${keep}`)
      } else {
        this.line(`${indent}  } else {`)
        this.line(`${indent}    ${keep}`)
        this.line(`${indent}  }`)
      }
      this.line(`${indent}}`)
      if (test !== null) this.line('  }')
    }
    this.line(`  const m: ${struct.name} = {`)
    for (const field of fields) this.line(`    ${field.name}: f_${field.name},`)
    this.line('  }')
    if (flexible !== false) this.line('  if (unknownTaggedFields !== undefined) m.unknownTaggedFields = unknownTaggedFields')
    this.#closeBody(start, ['r', 'v'])
    this.line('  return m')
    this.line('}')
    this.line()
  }

  /** Marks parameters the body never used, so generated code passes noUnusedParameters. */
  #closeBody (start: number, params: string[]): void {
    const body = this.lines.slice(start).join('\n')
    for (const p of params) if (!new RegExp(`\\b${p}\\b`).test(body)) this.line(`  void ${p}`)
  }

  // ---- size

  /** An expression for the encoded size of `value`. */
  #sizeExpr (field: FieldModel, value: string, within: Range | null, inTag: boolean, zc: string): string {
    const nullable = rangeTest(field.nullable, within)
    if (field.kind === 'struct') {
      const size = `size${field.struct!.name}(${value}, v, ${zc})`
      if (nullable === false) return size
      return pick(nullable, `(${value} === null ? 1 : 1 + ${size})`, size)
    }
    if (field.kind === 'array') {
      // Arrays are sized with a helper loop; see #sizeArray.
      throw new Error('arrays are sized by statements')
    }
    return this.#scalarSize(field, field.type!, value, within, inTag, nullable)
  }

  #scalarSize (field: FieldModel, type: PrimitiveType, value: string, within: Range | null, inTag: boolean, nullable: Tri): string {
    const fixed = FIXED[type]
    if (fixed !== undefined) return String(fixed)
    const compact = inTag ? true : this.#flexTest(within, field)
    const kind = type === 'string' ? 'String' : 'Bytes'
    const isNullable = type === 'records' ? true : nullable
    const bang = this.#fieldType(field).endsWith('| null') ? '!' : ''
    const fn = (c: boolean, n: boolean): string => {
      const name = `sizeOf${c ? 'Compact' : ''}${n ? 'Nullable' : ''}${kind}`
      this.imports.add(name)
      return `${name}(${value}${n ? '' : bang})`
    }
    const byNull = (c: boolean): string => pick(isNullable, fn(c, true), fn(c, false))
    return pick(compact, byNull(true), byNull(false))
  }

  /** Statements adding the size of a field value to `s` (including null checks). */
  #sizeInto (field: FieldModel, value: string, within: Range | null, inTag: boolean, zc: string, indent: string, acc = 's'): void {
    const nullable = rangeTest(field.nullable, within)
    const isNullableType = field.type === 'records' && field.kind === 'primitive'
    if (!isNullableType && nullable !== true && (field.kind !== 'primitive' || field.type === 'string' || field.type === 'bytes')) {
      const check = nullable === false ? `${value} === null` : `${value} === null && !(${nullable})`
      if (this.#fieldType(field).endsWith('| null')) {
        this.imports.add('ProtocolEncodeError')
        this.line(`${indent}if (${check}) throw new ProtocolEncodeError(\`Non-nullable field ${this.#message.name}.${field.kafkaName} is null in version \${v}\`)`)
      }
    }
    if (field.kind === 'array') {
      const compact = inTag ? true : this.#flexTest(within, field)
      this.imports.add('sizeOfUnsignedVarInt')
      const elements = field.type !== null
        ? FIXED[field.type] !== undefined ? null : field.type
        : 'struct'
      this.line(`${indent}{`)
      this.line(`${indent}  const a = ${value}`)
      this.line(`${indent}  if (a === null) {`)
      this.line(`${indent}    ${acc} += ${pick(compact, '1', '4')}`)
      this.line(`${indent}  } else {`)
      this.line(`${indent}    ${acc} += ${pick(compact, 'sizeOfUnsignedVarInt(a.length + 1)', '4')}`)
      if (elements === null) {
        this.line(`${indent}    ${acc} += a.length * ${FIXED[field.type!]}`)
      } else if (elements === 'struct') {
        this.line(`${indent}    for (let i = 0; i < a.length; i++) ${acc} += size${field.struct!.name}(a[i]!, v, ${zc})`)
      } else {
        const size = this.#scalarSize(field, elements, 'a[i]!', within, inTag, false)
        this.line(`${indent}    for (let i = 0; i < a.length; i++) ${acc} += ${size}`)
      }
      this.line(`${indent}  }`)
      this.line(`${indent}}`)
      return
    }
    this.line(`${indent}${acc} += ${this.#sizeExpr(field, value, within, inTag, zc)}`)
    if (field.zeroCopy) {
      this.imports.add('ZERO_COPY_THRESHOLD')
      this.line(`${indent}if (${value} !== null && ${value}.length >= ZERO_COPY_THRESHOLD) ${zc}.bytes += ${value}.length`)
    }
  }

  #emitSize (struct: StructModel): void {
    this.imports.add('type ZeroCopyCounter')
    const exported = struct.root ? 'export ' : ''
    if (struct.root) {
      this.line(`/** The exact encoded size of a ${struct.name} at version \`v\`; large byte fields are also counted in \`zc\`. */`)
    }
    this.line(`${exported}function size${struct.name} (m: ${struct.name}, v: number, zc: ZeroCopyCounter): number {`)
    const start = this.lines.length
    this.line('  let s = 0')
    const untagged = new Set(this.#untagged(struct))
    for (const field of this.#fields(struct)) {
      const present = this.#present(field, struct)
      const untaggedRange = field.tagged === null ? present : untaggedPart(present!, field.tagged)
      if (!untagged.has(field)) continue
      const test = guard(rangeTest(untaggedRange, struct.context))
      if (test === null) {
        this.#sizeInto(field, `m.${field.name}`, untaggedRange, false, 'zc', '  ')
      } else {
        this.line(`  if (${test}) {`)
        this.#sizeInto(field, `m.${field.name}`, untaggedRange, false, 'zc', '    ')
        this.line('  }')
      }
    }
    // Kafka refuses to silently drop a non-ignorable field that a version cannot carry. That
    // protects requests (dropping `validateOnly` would change their meaning); a response field
    // the client's version cannot carry is simply left out, so responses are not checked.
    for (const field of this.#message.raw.type === 'response' ? [] : struct.fields) {
      if (field.ignorable || field.versions === null) continue
      if (field.kind === 'struct') continue
      const present = rangeTest(this.#present(field, struct), struct.context)
      if (present === true) continue
      this.imports.add('ProtocolEncodeError')
      const differs = this.#differsFromDefault(field, `m.${field.name}`)
      const absent = present === false ? '' : `!(${present}) && `
      this.line(`  if (${absent}${differs}) throw new ProtocolEncodeError(\`Field ${this.#message.name}.${field.kafkaName} cannot be sent in version \${v}\`)`)
    }
    const flexible = this.#structFlexible(struct)
    if (flexible !== false) {
      this.imports.add('sizeOfUnsignedVarInt')
      const test = guard(flexible)
      const indent = test === null ? '  ' : '    '
      if (test !== null) this.line(`  if (${test}) {`)
      this.line(`${indent}let n = 0`)
      for (const field of this.#tagged(struct)) {
        const tagTest = guard(rangeTest(field.tagged, struct.context))
        const differs = this.#differsFromDefault(field, `m.${field.name}`)
        this.line(`${indent}if (${tagTest === null ? '' : `${tagTest} && `}${differs}) {`)
        this.line(`${indent}  n++`)
        this.line(`${indent}  let t = 0`)
        this.#sizeInto(field, `m.${field.name}`, field.tagged, true, 'zc', `${indent}  `, 't')
        this.line(`${indent}  s += ${sizeVarint(field.tag!)} + sizeOfUnsignedVarInt(t) + t`)
        this.line(`${indent}}`)
      }
      this.line(`${indent}const u = m.unknownTaggedFields`)
      this.line(`${indent}if (u !== undefined) {`)
      this.line(`${indent}  n += u.length`)
      this.line(`${indent}  for (let i = 0; i < u.length; i++) s += sizeOfUnsignedVarInt(u[i]!.tag) + sizeOfUnsignedVarInt(u[i]!.data.length) + u[i]!.data.length`)
      this.line(`${indent}}`)
      this.line(`${indent}s += sizeOfUnsignedVarInt(n)`)
      if (test !== null) this.line('  }')
    }
    this.#closeBody(start, ['m', 'v', 'zc'])
    this.line('  return s')
    this.line('}')
    this.line()
  }

  // ---- write

  #writeScalar (field: FieldModel, type: PrimitiveType, value: string, within: Range | null, inTag: boolean, indent: string): void {
    const fixed = FIXED_WRITE[type]
    if (fixed !== undefined) {
      this.line(`${indent}w.${fixed}(${value})`)
      return
    }
    const compact = inTag ? true : this.#flexTest(within, field)
    const nullable: Tri = type === 'records' ? true : rangeTest(field.nullable, within)
    if (type === 'records' || field.zeroCopy) {
      // Length prefix then the bytes by reference when large.
      const prefix = pick(compact, `w.writeUnsignedVarInt(${value}.length + 1)`, `w.writeInt32(${value}.length)`)
      const nullWrite = pick(compact, 'w.writeUInt8(0)', 'w.writeInt32(-1)')
      this.line(`${indent}if (${value} === null) ${nullWrite}`)
      this.line(`${indent}else {`)
      this.line(`${indent}  ${prefix}`)
      this.line(`${indent}  w.writeRawZeroCopy(${value})`)
      this.line(`${indent}}`)
      return
    }
    const kind = type === 'string' ? 'String' : 'Bytes'
    // Non-null was checked by the size pass; `!` only where the type admits null.
    const bang = this.#fieldType(field).endsWith('| null') ? '!' : ''
    const call = (c: boolean, n: boolean): string => `w.write${c ? 'Compact' : ''}${n ? 'Nullable' : ''}${kind}(${value}${n ? '' : bang})`
    const byNull = (c: boolean): string => pickStatement(nullable, call(c, true), call(c, false))
    this.line(`${indent}${pickStatement(compact, byNull(true), byNull(false))}`)
  }

  #writeField (field: FieldModel, value: string, within: Range | null, inTag: boolean, indent: string): void {
    const nullable = rangeTest(field.nullable, within)
    if (field.kind === 'primitive') {
      this.#writeScalar(field, field.type!, value, within, inTag, indent)
      return
    }
    if (field.kind === 'struct') {
      const write = `write${field.struct!.name}(w, ${value}${this.#fieldType(field).endsWith('| null') ? '!' : ''}, v)`
      if (nullable === false) {
        this.line(`${indent}${write}`)
      } else {
        const guardNull = nullable === true ? '' : `${nullable} && `
        this.line(`${indent}if (${guardNull}${value} === null) w.writeInt8(-1)`)
        this.line(`${indent}else {`)
        if (nullable !== true) this.line(`${indent}  if (${nullable}) w.writeInt8(1)`)
        else this.line(`${indent}  w.writeInt8(1)`)
        this.line(`${indent}  ${write}`)
        this.line(`${indent}}`)
      }
      return
    }
    const compact = inTag ? true : this.#flexTest(within, field)
    this.line(`${indent}{`)
    this.line(`${indent}  const a = ${value}`)
    this.line(`${indent}  if (a === null) ${pick(compact, 'w.writeUInt8(0)', 'w.writeInt32(-1)')}`)
    this.line(`${indent}  else {`)
    this.line(`${indent}    ${pick(compact, 'w.writeUnsignedVarInt(a.length + 1)', 'w.writeInt32(a.length)')}`)
    if (field.type !== null) {
      this.line(`${indent}    for (let i = 0; i < a.length; i++) {`)
      this.#writeScalar({ ...field, nullable: null, zeroCopy: false }, field.type, 'a[i]!', within, inTag, `${indent}      `)
      this.line(`${indent}    }`)
    } else {
      this.line(`${indent}    for (let i = 0; i < a.length; i++) write${field.struct!.name}(w, a[i]!, v)`)
    }
    this.line(`${indent}  }`)
    this.line(`${indent}}`)
  }

  #emitWrite (struct: StructModel): void {
    this.imports.add('type Writer')
    const exported = struct.root ? 'export ' : ''
    if (struct.root) this.line(`/** Encodes a ${struct.name} at version \`v\` into a writer sized by \`size${struct.name}\`. */`)
    this.line(`${exported}function write${struct.name} (w: Writer, m: ${struct.name}, v: number): void {`)
    const start = this.lines.length
    const untagged = new Set(this.#untagged(struct))
    for (const field of this.#fields(struct)) {
      if (!untagged.has(field)) continue
      const present = this.#present(field, struct)
      const untaggedRange = field.tagged === null ? present : untaggedPart(present!, field.tagged)
      const test = guard(rangeTest(untaggedRange, struct.context))
      if (test === null) {
        this.#writeField(field, `m.${field.name}`, untaggedRange, false, '  ')
      } else {
        this.line(`  if (${test}) {`)
        this.#writeField(field, `m.${field.name}`, untaggedRange, false, '    ')
        this.line('  }')
      }
    }
    const flexible = this.#structFlexible(struct)
    if (flexible !== false) {
      const test = guard(flexible)
      const indent = test === null ? '  ' : '    '
      if (test !== null) this.line(`  if (${test}) {`)
      const tagged = this.#tagged(struct)
      this.line(`${indent}const u = m.unknownTaggedFields`)
      this.line(`${indent}let n = u === undefined ? 0 : u.length`)
      tagged.forEach((field, i) => {
        const tagTest = guard(rangeTest(field.tagged, struct.context))
        this.line(`${indent}const t${i} = ${tagTest === null ? '' : `${tagTest} && `}${this.#differsFromDefault(field, `m.${field.name}`)}`)
        this.line(`${indent}if (t${i}) n++`)
      })
      this.line(`${indent}w.writeUnsignedVarInt(n)`)
      if (tagged.length > 0) this.line(`${indent}let ui = 0`)
      tagged.forEach((field, i) => {
        this.imports.add('writeTaggedField')
        this.line(`${indent}if (u !== undefined) while (ui < u.length && u[ui]!.tag < ${field.tag}) writeTaggedField(w, u[ui++]!)`)
        this.line(`${indent}if (t${i}) {`)
        this.line(`${indent}  w.writeUnsignedVarInt(${field.tag})`)
        this.line(`${indent}  let t = 0`)
        this.imports.add('NO_ZERO_COPY')
        this.#sizeInto(field, `m.${field.name}`, field.tagged, true, 'NO_ZERO_COPY', `${indent}  `, 't')
        this.line(`${indent}  w.writeUnsignedVarInt(t)`)
        this.#writeField(field, `m.${field.name}`, field.tagged, true, `${indent}  `)
        this.line(`${indent}}`)
      })
      this.imports.add('writeTaggedField')
      const from = tagged.length > 0 ? 'ui' : '0'
      this.line(`${indent}if (u !== undefined) for (let i = ${from}; i < u.length; i++) writeTaggedField(w, u[i]!)`)
      if (test !== null) this.line('  }')
    }
    this.#closeBody(start, ['w', 'm', 'v'])
    this.line('}')
    this.line()
  }
}

/** The part of `present` where a field is not tagged (tagged ranges are open-ended). */
function untaggedPart (present: Range, tagged: Range): Range | null {
  if (tagged.min <= present.min) return null
  return { min: present.min, max: Math.min(present.max, tagged.min - 1) }
}

function sizeVarint (value: number): number {
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 128)
    size++
  }
  return size
}

export function fmtRange (range: Range | null): string {
  if (range === null) return 'none'
  if (range.max === OPEN) return `${range.min}+`
  return range.min === range.max ? String(range.min) : `${range.min}-${range.max}`
}

function quote (text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}
