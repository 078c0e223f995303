import type { MessageCodec } from '../../src/api.ts'
import { Reader, Writer } from '../../src/primitives/mod.ts'

/** Encodes with the two-pass protocol; returns the chunks and the size the first pass predicted. */
export function encode<T> (codec: MessageCodec<T>, m: T, v: number): { chunks: Buffer[], size: number, bytes: Buffer } {
  const zc = { bytes: 0 }
  const size = codec.size(m, v, zc)
  const w = new Writer(size - zc.bytes)
  codec.write(w, m, v)
  const chunks = w.finish()
  return { chunks, size, bytes: Buffer.concat(chunks) }
}

/** Decodes `bytes` completely; fails if bytes are left over. */
export function decode<T> (codec: MessageCodec<T>, bytes: Buffer, v: number): T {
  const r = new Reader(bytes)
  const m = codec.read(r, v)
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after decoding ${codec.schema.name} v${v}`)
  return m
}
