// Shared helpers for the cross-client byte-agreement tests (kafkajs, @platformatic/kafka).
import assert from 'node:assert/strict'
import { type ApiDefinition, type MessageCodec } from '../../src/api.ts'
import { type RequestHeader, RequestHeaderMessage } from '../../src/messages/request-header.ts'
import { Reader, Writer } from '../../src/primitives/mod.ts'

/** Encodes `m` at version `v` with one of our codecs, the two-pass way the broker does. */
export function encode<T> (codec: MessageCodec<T>, m: T, v: number): Buffer {
  const zc = { bytes: 0 }
  const size = codec.size(m, v, zc)
  const w = new Writer(size - zc.bytes)
  codec.write(w, m, v)
  const out = w.toBuffer()
  assert.equal(out.length, size, `${codec.schema.name} v${v}: encoded length differs from the predicted size`)
  return out
}

/** Decodes `buf` at version `v` with one of our codecs and checks every byte was consumed. */
export function decode<T> (codec: MessageCodec<T>, buf: Buffer, v: number): T {
  const r = new Reader(buf)
  const m = codec.read(r, v)
  assert.equal(r.remaining, 0, `${codec.schema.name} v${v}: ${r.remaining} bytes left unread by our decoder`)
  return m
}

/** Asserts byte equality, reporting the first differing offset with a hex window of both sides. */
export function assertSameBytes (ours: Buffer, theirs: Buffer, what: string): void {
  if (ours.equals(theirs)) return
  let i = 0
  while (i < ours.length && i < theirs.length && ours[i] === theirs[i]) i++
  const from = Math.max(0, i - 8)
  assert.fail(
    `${what}: bytes differ at offset ${i} (ours ${ours.length} bytes, theirs ${theirs.length} bytes)\n` +
    `  ours   [${from}..]: ${ours.subarray(from, i + 24).toString('hex')}\n` +
    `  theirs [${from}..]: ${theirs.subarray(from, i + 24).toString('hex')}`
  )
}

/** What the header and flexibility helpers need of an API (any ApiDefinition<Req, Res> fits). */
export type ApiInfo = Pick<ApiDefinition<unknown, unknown>, 'apiKey' | 'name' | 'flexibleVersions'>

export function flexible (api: ApiInfo, v: number): boolean {
  const range = api.flexibleVersions
  return range !== null && v >= range[0] && v <= range[1]
}

/** Kafka's request header version: 2 (with a tag buffer) for flexible API versions, else 1. */
export function requestHeaderVersion (api: ApiInfo, v: number): number {
  return flexible(api, v) ? 2 : 1
}

/** Kafka's response header version: 1 for flexible versions, else 0; ApiVersions is always 0. */
export function responseHeaderVersion (api: ApiInfo, v: number): number {
  if (api.apiKey === 18) return 0
  return flexible(api, v) ? 1 : 0
}

/** A whole request as it goes on the wire: int32 size, request header, body. */
export function frameRequest (
  api: ApiInfo, v: number, correlationId: number, clientId: string | null, body: Buffer
): Buffer {
  const header: RequestHeader = { requestApiKey: api.apiKey, requestApiVersion: v, correlationId, clientId }
  const head = encode(RequestHeaderMessage, header, requestHeaderVersion(api, v))
  const size = Buffer.alloc(4)
  size.writeInt32BE(head.length + body.length)
  return Buffer.concat([size, head, body])
}

/** Inclusive integer range. */
export function versions (from: number, to: number): number[] {
  const out: number[] = []
  for (let v = from; v <= to; v++) out.push(v)
  return out
}

/** Deterministic filler bytes (so large payloads are not all one value). */
export function pattern (length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}
