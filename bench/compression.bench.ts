/**
 * Codec throughput on a realistic 1 MB payload (JSON event lines): compress and decompress
 * MB/s (of uncompressed bytes) with p50/p99 per call, and the compression ratio. Also the
 * bounded pure-JS LZ4 decoder (the fallback) against the native path.
 *
 *   node --import tsx bench/compression.bench.ts
 */
import {
  compress, compressionName, CompressionType, decompress, lz4Decompress
} from '../packages/protocol/src/records/mod.ts'
import { machine, measure } from './harness.ts'

/** ~`bytes` of newline-separated JSON events with realistic repetition (deterministic). */
function payload (bytes: number): Buffer {
  const events = ['click', 'view', 'purchase', 'scroll', 'login']
  const parts: string[] = []
  let size = 0
  let seed = 42
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  for (let i = 0; size < bytes; i++) {
    const text = JSON.stringify({
      id: `evt-${(1_000_000 + i).toString(36)}`,
      user: `user-${Math.floor(random() * 5000)}`,
      type: events[Math.floor(random() * events.length)],
      ts: 1_700_000_000_000 + i * 17,
      page: `/products/${Math.floor(random() * 800)}`,
      price: Math.round(random() * 10_000) / 100,
      session: Math.floor(random() * 1e9).toString(16)
    }) + '\n'
    parts.push(text)
    size += text.length
  }
  return Buffer.from(parts.join('')).subarray(0, bytes)
}

const data = payload(1024 * 1024)
console.log(`# compression — ${machine()}`)
console.log(`# payload: ${data.length} bytes of JSON lines; MB/s are of uncompressed bytes`)

for (const codec of [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd]) {
  const name = compressionName(codec)
  const packed = compress(codec, data)
  if (!decompress(codec, packed, data.length).equals(data)) throw new Error(`${name} round trip failed`)
  console.log(`${name}: ${packed.length} bytes, ratio ${(data.length / packed.length).toFixed(2)}`)
  measure(`  ${name} compress 1 MB`, () => compress(codec, data), { bytes: data.length, minMs: 1000 })
  measure(`  ${name} decompress 1 MB`, () => decompress(codec, packed, data.length), { bytes: data.length, minMs: 1000 })
}

const lz4Packed = compress(CompressionType.lz4, data)
measure('lz4 decompress 1 MB, bounded pure-JS fallback', () => lz4Decompress(lz4Packed, data.length, { native: false }), { bytes: data.length, minMs: 1000 })
