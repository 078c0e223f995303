/**
 * Resolves raw JSON specs into structs and fields with TypeScript names, clipped version
 * ranges and resolved struct references, ready for code generation.
 */
import {
  OPEN, PRIMITIVES, type PrimitiveType, type Range, type RawField, type RawMessage, intersect, parseRange
} from './spec.ts'

export interface FieldModel {
  kafkaName: string
  name: string
  /** 'primitive' (type), 'struct' (struct) or 'array' (of type or of struct). */
  kind: 'primitive' | 'struct' | 'array'
  type: PrimitiveType | null
  struct: StructModel | null
  versions: Range | null
  nullable: Range | null
  tagged: Range | null
  tag: number | undefined
  /** Field-level override of flexibility (`"flexibleVersions": "none"` on RequestHeader.ClientId). */
  flexible: Range | null | undefined
  default: string | number | boolean | undefined
  ignorable: boolean
  zeroCopy: boolean
  about: string | undefined
}

export interface StructModel {
  kafkaName: string
  name: string
  fields: FieldModel[]
  /** Hull of the version ranges in which this struct appears. */
  context: Range
  /** True for the top-level message struct. */
  root: boolean
  /** Needs an `isDefault` helper (used as a tagged field). */
  needsIsDefault: boolean
}

export interface MessageModel {
  raw: RawMessage
  name: string
  valid: Range
  flexible: Range | null
  root: StructModel
  structs: StructModel[]
}

export function camel (name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1)
}

export function clipOpen (range: Range | null, valid: Range): Range | null {
  if (range === null) return null
  return { min: range.min, max: range.max === OPEN ? valid.max : range.max }
}

/**
 * Builds the model of one message. `taken` holds struct names already used in the same output
 * module (request and response share one file); a clashing name is prefixed with the message
 * name so every exported interface in a module is unique.
 */
export function buildMessage (raw: RawMessage, taken: Set<string>): MessageModel {
  const parsedValid = parseRange(raw.validVersions)
  if (parsedValid === null) throw new Error(`${raw.name}: no valid versions`)
  const valid: Range = parsedValid
  const flexible = clipOpen(parseRange(raw.flexibleVersions), valid)
  const structs: StructModel[] = []
  const byKafkaName = new Map<string, StructModel>()
  const common = new Map((raw.commonStructs ?? []).map((c) => [c.name, c]))

  function structName (kafkaName: string): string {
    let name = kafkaName
    if (taken.has(name)) name = raw.name + kafkaName
    if (taken.has(name)) throw new Error(`${raw.name}: struct name '${name}' is used twice`)
    taken.add(name)
    return name
  }

  function resolveStruct (kafkaName: string, rawFields: RawField[] | undefined, used: Range): StructModel {
    const existing = byKafkaName.get(kafkaName)
    if (existing !== undefined) {
      if (rawFields !== undefined && existing.fields.length > 0 && !common.has(kafkaName)) {
        throw new Error(`${raw.name}: struct '${kafkaName}' is defined twice`)
      }
      existing.context = { min: Math.min(existing.context.min, used.min), max: Math.max(existing.context.max, used.max) }
      return existing
    }
    const fieldsSource = rawFields ?? common.get(kafkaName)?.fields
    if (fieldsSource === undefined) throw new Error(`${raw.name}: unknown struct type '${kafkaName}'`)
    const struct: StructModel = {
      kafkaName,
      name: structName(kafkaName),
      fields: [],
      context: used,
      root: false,
      needsIsDefault: false
    }
    byKafkaName.set(kafkaName, struct)
    structs.push(struct)
    // Fields are clipped to the message's versions, not to this first use: a common struct
    // may be used again in a wider range, and conditions are emitted relative to the hull.
    struct.fields = fieldsSource.map((f) => resolveField(f, valid))
    return struct
  }

  function resolveField (f: RawField, parent: Range): FieldModel {
    const versions = intersect(clipOpen(parseRange(f.versions), valid), parent)
    const isArray = f.type.startsWith('[]')
    const base = isArray ? f.type.slice(2) : f.type
    const primitive = PRIMITIVES.has(base)
    let struct: StructModel | null = null
    if (!primitive && versions !== null) {
      struct = resolveStruct(base, f.fields, versions)
    }
    const tagged = f.taggedVersions === undefined ? null : clipOpen(parseRange(f.taggedVersions), valid)
    const field: FieldModel = {
      kafkaName: f.name,
      name: camel(f.name),
      kind: isArray ? 'array' : primitive ? 'primitive' : 'struct',
      type: primitive ? base as PrimitiveType : null,
      struct,
      versions,
      nullable: intersect(clipOpen(parseRange(f.nullableVersions), valid), versions),
      tagged: intersect(tagged, versions),
      tag: f.tag,
      flexible: f.flexibleVersions === undefined ? undefined : clipOpen(parseRange(f.flexibleVersions), valid),
      default: f.default,
      ignorable: f.ignorable === true || tagged !== null,
      zeroCopy: f.zeroCopy === true || base === 'records',
      about: f.about
    }
    if (field.tagged !== null && field.kind === 'struct' && struct !== null) markIsDefault(struct)
    return field
  }

  function markIsDefault (struct: StructModel): void {
    struct.needsIsDefault = true
    for (const f of struct.fields) if (f.kind === 'struct' && f.struct !== null) markIsDefault(f.struct)
  }

  const root: StructModel = {
    kafkaName: raw.name,
    name: raw.name,
    fields: [],
    context: valid,
    root: true,
    needsIsDefault: false
  }
  if (taken.has(raw.name)) throw new Error(`${raw.name}: message name clashes with a struct`)
  taken.add(raw.name)
  root.fields = raw.fields.map((f) => resolveField(f, valid))
  return { raw, name: raw.name, valid, flexible, root, structs: [root, ...structs] }
}
