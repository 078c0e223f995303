/**
 * fast-check arbitraries for any message at any version, derived from the generated schema
 * descriptors. Written independently of the generator so the two can check each other: a
 * field absent from a version gets its default (that is what a decoder yields), a field
 * nullable in that version may be null, and flexible structs may carry unknown tagged fields.
 */
import fc from 'fast-check'
import type { FieldSchema, MessageSchema, VersionRange } from '../../src/api.ts'
import { EMPTY_BUFFER, ZERO_UUID } from '../../src/primitives/mod.ts'

export function inRange (range: VersionRange | null | undefined, v: number): boolean {
  return range != null && v >= range[0] && v <= range[1]
}

/** The value a decoder gives a field that is absent from the version. */
export function defaultOf (field: FieldSchema): unknown {
  const d = field.default
  if (d === 'null') return null
  if (field.array === true) return []
  if (field.type === 'struct') return defaultStruct(field.fields ?? [])
  switch (field.type) {
    case 'bool': return d === 'true'
    case 'string': return d ?? ''
    case 'uuid': return ZERO_UUID
    case 'bytes': return EMPTY_BUFFER
    case 'records': return null
    case 'int64': return BigInt(d ?? 0)
    default: return Number(d ?? 0)
  }
}

function defaultStruct (fields: readonly FieldSchema[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of fields) out[f.name] = defaultOf(f)
  return out
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295]
}

const smallBytes = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a))
// Sometimes larger than the zero-copy threshold, to exercise linked chunks.
const recordBytes = fc.oneof(
  { arbitrary: smallBytes, weight: 4 },
  { arbitrary: fc.integer({ min: 4096, max: 9000 }).map((n) => Buffer.alloc(n, n & 0xff)), weight: 1 }
)
const text = fc.string({ unit: 'grapheme', maxLength: 16 })

function scalar (type: FieldSchema['type']): fc.Arbitrary<unknown> {
  const ints = INT_RANGES[type]
  if (ints !== undefined) return fc.integer({ min: ints[0], max: ints[1] })
  switch (type) {
    case 'bool': return fc.boolean()
    case 'int64': return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    case 'float64': return fc.double()
    case 'string': return text
    case 'uuid': return fc.uuid().map((u) => u.toLowerCase())
    case 'bytes': return smallBytes
    case 'records': return recordBytes
    default: throw new Error(`No arbitrary for ${type}`)
  }
}

function fieldArbitrary (field: FieldSchema, v: number, flexible: VersionRange | null): fc.Arbitrary<unknown> {
  let value: fc.Arbitrary<unknown>
  if (field.type === 'struct') {
    const element = structArbitrary(field.fields ?? [], v, flexible)
    value = field.array === true ? fc.array(element, { maxLength: 3 }) : element
  } else {
    value = field.array === true ? fc.array(scalar(field.type), { maxLength: 4 }) : scalar(field.type)
  }
  if (inRange(field.nullable, v) || (field.type === 'records' && field.array !== true)) {
    value = fc.option(value, { nil: null, freq: 4 })
  }
  return value
}

export function structArbitrary (fields: readonly FieldSchema[], v: number, flexible: VersionRange | null): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {}
  for (const field of fields) {
    shape[field.name] = inRange(field.versions, v) ? fieldArbitrary(field, v, flexible) : fc.constant(defaultOf(field))
  }
  const record = fc.record(shape, { noNullPrototype: true })
  if (!inRange(flexible, v)) return record
  // Unknown tagged fields use tags far above any Kafka assigns, sorted and unique.
  const unknown = fc.uniqueArray(fc.integer({ min: 1000, max: 1010 }), { maxLength: 2 })
    .chain((tags) => fc.tuple(...tags.sort((a, b) => a - b).map((tag) => smallBytes.map((data) => ({ tag, data })))))
  return fc.tuple(record, fc.option(unknown, { nil: undefined, freq: 3 })).map(([m, u]) => {
    if (u !== undefined && u.length > 0) m.unknownTaggedFields = u
    return m
  })
}

export function messageArbitrary (schema: MessageSchema, v: number): fc.Arbitrary<Record<string, unknown>> {
  return structArbitrary(schema.fields, v, schema.flexibleVersions)
}

export function versionsOf (schema: MessageSchema): number[] {
  const out: number[] = []
  for (let v = schema.validVersions[0]; v <= schema.validVersions[1]; v++) out.push(v)
  return out
}
