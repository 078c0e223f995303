import type { Reader } from './primitives/reader.ts'
import type { Writer, ZeroCopyCounter } from './primitives/writer.ts'

/** A version range as [min, max] (inclusive); 32767 stands for "and later". */
export type VersionRange = readonly [number, number]

/** One field of a message schema, as data (the JSON spec, resolved). */
export interface FieldSchema {
  readonly name: string
  readonly type: 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64' |
  'string' | 'uuid' | 'bytes' | 'records' | 'struct'
  readonly array?: boolean
  readonly versions: VersionRange
  readonly nullable?: VersionRange
  readonly tag?: number
  readonly tagged?: VersionRange
  readonly default?: string
  readonly ignorable?: boolean
  /** Field-level override of the message's flexible versions (null: never flexible). */
  readonly flexible?: VersionRange | null
  readonly fields?: readonly FieldSchema[]
}

export interface MessageSchema {
  readonly name: string
  readonly type: 'request' | 'response' | 'header' | 'data'
  readonly validVersions: VersionRange
  readonly flexibleVersions: VersionRange | null
  readonly fields: readonly FieldSchema[]
}

/**
 * The generated functions for one message type. Method syntax (bivariant parameters) lets a
 * specific `ApiDefinition<FetchRequest, FetchResponse>` be passed where any API is accepted.
 */
export interface MessageCodec<T> {
  /** Decodes version `v`; throws ProtocolDecodeError on malformed input. */
  read (this: void, r: Reader, v: number): T
  /** Encodes version `v` into a writer sized by `size`. */
  write (this: void, w: Writer, m: T, v: number): void
  /** The exact encoded size at version `v`; bytes to be linked rather than copied are added to `zc`. */
  size (this: void, m: T, v: number, zc: ZeroCopyCounter): number
  /** A message with every field at its default. */
  create (this: void): T
  readonly schema: MessageSchema
}

/** A Kafka API: its key, versions and the codecs of both directions. */
export interface ApiDefinition<Req, Res> {
  readonly apiKey: number
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  readonly flexibleVersions: VersionRange | null
  readonly deprecatedVersions: VersionRange | null
  readonly latestVersionUnstable: boolean
  readonly listeners: readonly string[]
  readonly request: MessageCodec<Req>
  readonly response: MessageCodec<Res>
}

/** True when version `v` of the API uses flexible (compact, tagged) encodings. */
export function isFlexible (api: ApiDefinition<unknown, unknown>, v: number): boolean {
  const flexible = api.flexibleVersions
  return flexible !== null && v >= flexible[0] && v <= flexible[1]
}
