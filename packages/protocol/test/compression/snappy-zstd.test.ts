import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DecompressionLimitError } from '../../src/compression/errors.ts'
import {
  isXerialSnappy, snappyCompress, snappyDecompress, snappyUncompressedLength, XERIAL_MAGIC
} from '../../src/compression/snappy.ts'
import { zstdCompress, zstdDecompress } from '../../src/compression/zstd.ts'
import { ProtocolDecodeError } from '../../src/primitives/errors.ts'

/** snappy-java's SnappyOutputStream framing: magic, version 1, compatible 1, [int32 length, raw block]... */
function xerial (blocks: Buffer[]): Buffer {
  const header = Buffer.alloc(16)
  XERIAL_MAGIC.copy(header)
  header.writeInt32BE(1, 8)
  header.writeInt32BE(1, 12)
  const parts: Buffer[] = [header]
  for (const block of blocks) {
    const length = Buffer.alloc(4)
    length.writeInt32BE(block.length)
    parts.push(length, block)
  }
  return Buffer.concat(parts)
}

describe('snappy', () => {
  it('writes raw snappy and reads it back', () => {
    const data = Buffer.from('raw snappy, as librdkafka writes it. '.repeat(50))
    const packed = snappyCompress(data)
    assert.equal(isXerialSnappy(packed), false)
    assert.equal(snappyUncompressedLength(packed), data.length)
    assert.ok(snappyDecompress(packed, data.length).equals(data))
  })

  it('reads xerial framing (Java client and broker) with one or many blocks', () => {
    const parts = ['first block ', 'second block ', 'third'].map((s) => Buffer.from(s.repeat(1000)))
    const framed = xerial(parts.map((p) => snappyCompress(p)))
    assert.equal(isXerialSnappy(framed), true)
    const expected = Buffer.concat(parts)
    assert.ok(snappyDecompress(framed, expected.length).equals(expected))
    assert.ok(snappyDecompress(xerial([snappyCompress(parts[0]!)]), 1e6).equals(parts[0]!))
    assert.equal(snappyDecompress(xerial([]), 0).length, 0)
  })

  it('checks declared lengths against the limit before decompressing', () => {
    const block = snappyCompress(Buffer.alloc(64 * 1024))
    // ~1 GB declared by 16,000 copies of one small block.
    const bomb = xerial(Array.from<Buffer>({ length: 16_000 }).fill(block))
    const started = process.hrtime.bigint()
    assert.throws(() => snappyDecompress(bomb, 10 * 1024 * 1024), DecompressionLimitError)
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000)
    // A raw block claiming 4 GB - 1.
    assert.throws(() => snappyDecompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0]), 1 << 20), DecompressionLimitError)
  })

  it('rejects malformed input with ProtocolDecodeError', () => {
    const block = snappyCompress(Buffer.from('abc'.repeat(100)))
    const good = xerial([block])
    const cases: Array<[string, Buffer, RegExp]> = [
      ['empty', Buffer.alloc(0), /uncompressed length/],
      ['unterminated varint', Buffer.from([0x80, 0x80]), /uncompressed length/],
      ['varint over 32 bits', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), /uncompressed length/],
      ['six-byte varint', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /uncompressed length/],
      ['corrupt block', Buffer.from([10, 0xff, 0xff]), /Corrupt snappy/],
      ['length lies', Buffer.concat([Buffer.from([block[0]! + 2]), block.subarray(1)]), /Corrupt snappy/],
      ['truncated xerial length', good.subarray(0, 18), /truncated xerial block length/],
      ['xerial block overrun', good.subarray(0, good.length - 1), /overruns/],
      ['negative xerial length', (() => { const b = Buffer.from(good); b.writeInt32BE(-1, 16); return b })(), /overruns/]
    ]
    for (const [name, buf, pattern] of cases) {
      assert.throws(() => snappyDecompress(buf, 1 << 20), (e: unknown) => e instanceof ProtocolDecodeError && pattern.test(e.message), name)
    }
  })
})

describe('zstd', () => {
  it('single frame with content size: decoded in one call into an exact buffer', () => {
    const data = Buffer.from('zstd '.repeat(10_000))
    const packed = zstdCompress(data)
    const out = zstdDecompress(packed, data.length)
    assert.ok(out.equals(data))
    assert.throws(() => zstdDecompress(packed, data.length - 1), DecompressionLimitError)
  })

  it('several frames go through the bounded streaming decoder', () => {
    const a = Buffer.alloc(300_000, 1)
    const b = Buffer.from('second frame')
    const packed = Buffer.concat([zstdCompress(a), zstdCompress(b)])
    assert.ok(zstdDecompress(packed, a.length + b.length).equals(Buffer.concat([a, b])))
    assert.throws(() => zstdDecompress(packed, a.length), DecompressionLimitError)
    // The shared context is usable after the failure.
    assert.ok(zstdDecompress(zstdCompress(b), 100).equals(b))
  })

  it('a frame claiming 1 GB fails before anything is allocated', () => {
    // Magic, single-segment with an 8-byte content size of 2^30, then an empty raw last block.
    const claim = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x40, 0, 0, 0, 0, 1, 0, 0])
    assert.throws(() => zstdDecompress(claim, 10 * 1024 * 1024), DecompressionLimitError)
  })

  it('a frame whose content size is wrong, a truncated frame, garbage: ProtocolDecodeError', () => {
    const liar = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 5, 1, 0, 0])
    assert.throws(() => zstdDecompress(liar, 100), ProtocolDecodeError)
    const first = zstdCompress(Buffer.alloc(1000, 3))
    const packed = Buffer.concat([first, zstdCompress(Buffer.alloc(1000, 4))])
    for (let n = 0; n < packed.length; n++) {
      if (n === first.length) continue // one complete frame is valid input
      assert.throws(() => zstdDecompress(packed.subarray(0, n), 1e6), ProtocolDecodeError, `${n} bytes`)
    }
    assert.throws(() => zstdDecompress(Buffer.from('definitely not zstd'), 100), /Corrupt zstd/)
    assert.ok(zstdDecompress(zstdCompress(Buffer.from('ok')), 10).equals(Buffer.from('ok')))
  })
})
