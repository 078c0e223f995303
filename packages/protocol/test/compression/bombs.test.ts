/**
 * Decompression bombs: small inputs that expand to about 1 GB must be rejected at a 10 MB
 * limit quickly and without allocating anything near the full size.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { compress, CompressionType, decompress } from '../../src/compression/codec.ts'
import { DecompressionLimitError } from '../../src/compression/errors.ts'
import { inspectLz4Frame } from '../../src/compression/lz4.ts'
import { XERIAL_MAGIC } from '../../src/compression/snappy.ts'
import { xxhash32 } from '../../src/compression/xxhash32.ts'
import { buildRecordBatch } from '../../src/records/batch-builder.ts'
import { decodeRecordBatch } from '../../src/records/batch-decoder.ts'
import { ATTRIBUTES_OFFSET, RECORDS_OFFSET, updateBatchCrc } from '../../src/records/record-batch.ts'

const MB = 1024 * 1024
const LIMIT = 10 * MB
const COPIES = 1024 // of 1 MB of zeros: 1 GB in all

function u32 (n: number, le: boolean): Buffer {
  const b = Buffer.alloc(4)
  if (le) b.writeUInt32LE(n)
  else b.writeInt32BE(n)
  return b
}

/** Each bomb, built without ever materialising its output. */
const bombs: Record<string, () => Buffer> = {
  // Concatenated gzip members are one valid gzip stream.
  gzip: () => Buffer.concat(Array.from<Buffer>({ length: COPIES }).fill(gzipSync(Buffer.alloc(MB), { level: 9 }))),
  // snappy-java framing: 1024 blocks of 1 MB each.
  snappy: () => {
    const block = compress(CompressionType.snappy, Buffer.alloc(MB))
    const header = Buffer.concat([XERIAL_MAGIC, u32(1, false), u32(1, false)])
    return Buffer.concat([header, ...Array.from({ length: COPIES }, () => [u32(block.length, false), block]).flat()])
  },
  // One LZ4 frame repeating a block of 64 KB of zeros 16,384 times.
  lz4: () => {
    const frame = compress(CompressionType.lz4, Buffer.alloc(64 * 1024))
    const info = inspectLz4Frame(frame)
    const size = frame.readUInt32LE(info.dataStart) & 0x7fffffff
    const block = frame.subarray(info.dataStart, info.dataStart + 4 + size)
    const header = Buffer.from(frame.subarray(0, info.dataStart))
    header[info.headerChecksumAt] = (xxhash32(header, 4, info.headerChecksumAt) >>> 8) & 0xff
    return Buffer.concat([header, ...Array.from<Buffer>({ length: COPIES * 16 }).fill(block), u32(0, true)])
  },
  // 1024 concatenated zstd frames: the first declares only 1 MB, so the streaming path runs.
  zstd: () => Buffer.concat(Array.from<Buffer>({ length: COPIES }).fill(compress(CompressionType.zstd, Buffer.alloc(MB))))
}

describe('decompression bombs', () => {
  for (const [name, build] of Object.entries(bombs)) {
    it(`${name}: ~1 GB of zeros is rejected at a 10 MB limit, fast and with bounded memory`, () => {
      const bomb = build()
      // snappy cannot do better than about 21:1, so its bomb is the largest.
      assert.ok(bomb.length < 64 * MB, `${name} bomb is ${bomb.length} bytes`)
      const codec = CompressionType[name as keyof typeof CompressionType]
      globalThis.gc?.()
      const before = process.memoryUsage()
      const started = process.hrtime.bigint()
      assert.throws(() => decompress(codec, bomb, LIMIT), (e: unknown) => e instanceof DecompressionLimitError && e.limit === LIMIT)
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6
      const after = process.memoryUsage()
      assert.ok(elapsedMs < 3000, `${name} took ${elapsedMs} ms`)
      // Far below the 1 GB an unbounded decoder would need.
      const grown = (after.rss - before.rss) / MB
      assert.ok(grown < 200, `${name} grew RSS by ${grown.toFixed(0)} MB`)
    })
  }

  it('gzip of 200 MB of zeros in one member is rejected at 10 MB', () => {
    // One member: zlib itself must stop inflating at the limit.
    const bomb = gzipSync(Buffer.alloc(200 * MB), { level: 9 })
    const started = process.hrtime.bigint()
    assert.throws(() => decompress(CompressionType.gzip, bomb, LIMIT), DecompressionLimitError)
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000)
  })

  it('a record batch whose records section is a bomb fails decoding with DecompressionLimitError', () => {
    for (const [name, build] of Object.entries(bombs)) {
      const codec = CompressionType[name as keyof typeof CompressionType]
      const template = buildRecordBatch({ records: [{ value: 'x' }], compression: codec, timestamp: 0 })
      const batch = Buffer.concat([template.subarray(0, RECORDS_OFFSET), build()])
      batch.writeInt32BE(batch.length - 12, 8)
      updateBatchCrc(batch)
      assert.equal(batch.readInt16BE(ATTRIBUTES_OFFSET) & 7, codec)
      assert.throws(() => decodeRecordBatch(batch, 0, { maxDecompressedBytes: LIMIT }), DecompressionLimitError, name)
    }
  })
})
