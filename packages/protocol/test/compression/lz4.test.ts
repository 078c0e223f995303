import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DecompressionLimitError } from '../../src/compression/errors.ts'
import { inspectLz4Frame, lz4Compress, lz4Decompress } from '../../src/compression/lz4.ts'
import { xxhash32 } from '../../src/compression/xxhash32.ts'
import { ProtocolDecodeError } from '../../src/primitives/errors.ts'

const lz4napi = createRequire(import.meta.url)('lz4-napi')

const MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18])

function u32le (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

/** A frame from parts, with a correct header checksum. */
function frame (flg: number, bd: number, blocks: Buffer[], options: { contentSize?: number, contentChecksum?: Buffer, blockChecksum?: boolean } = {}): Buffer {
  const descriptor = [flg, bd]
  const header = Buffer.from(descriptor)
  let size = Buffer.alloc(0)
  if (options.contentSize !== undefined) {
    size = Buffer.alloc(8)
    size.writeBigUInt64LE(BigInt(options.contentSize))
  }
  const desc = Buffer.concat([header, size])
  const hc = (xxhash32(desc) >>> 8) & 0xff
  const body: Buffer[] = []
  for (const block of blocks) {
    body.push(block)
    if (options.blockChecksum === true) body.push(u32le(xxhash32(block.subarray(4))))
  }
  return Buffer.concat([MAGIC, desc, Buffer.from([hc]), ...body, u32le(0), options.contentChecksum ?? Buffer.alloc(0)])
}

/** An uncompressed block (high bit set). */
function rawBlock (data: Buffer): Buffer {
  return Buffer.concat([u32le((data.length | 0x80000000) >>> 0), data])
}

function compressedBlock (data: Buffer): Buffer {
  return Buffer.concat([u32le(data.length), data])
}

/** The first block of a frame lz4-napi made (header 7 bytes: magic, FLG, BD, HC). */
function firstBlockOf (data: Buffer): Buffer {
  const f: Buffer = lz4napi.compressFrameSync(data)
  const size = f.readUInt32LE(7) & 0x7fffffff
  return f.subarray(7, 11 + size)
}

describe('lz4 frames', () => {
  it('writes frames like Kafka\'s Java client: independent 64 KB blocks, no checksums', () => {
    const data = Buffer.alloc(200_000, 7)
    const packed = lz4Compress(data)
    assert.deepEqual([...packed.subarray(0, 7)], [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82])
    const info = inspectLz4Frame(packed)
    assert.equal(info.blockIndependent, true)
    assert.equal(info.blockMaxSize, 64 * 1024)
    assert.equal(info.contentSize, -1)
    assert.equal(info.brokenHeaderChecksum, false)
    assert.equal(info.maxOutput, 4 * 64 * 1024)
    // lz4-napi's own frame decoder (lz4_flex) reads them, empty and incompressible ones too.
    assert.ok(lz4napi.decompressFrameSync(packed).equals(data))
    assert.deepEqual([...lz4Compress(Buffer.alloc(0))], [0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, 0, 0, 0, 0])
    const noise = randomBytes(70_000)
    const stored = lz4Compress(noise)
    assert.equal(stored.readUInt32LE(7) >>> 31, 1, 'the first block is stored uncompressed')
    assert.ok(lz4napi.decompressFrameSync(stored).equals(noise))
    assert.ok(lz4Decompress(stored, noise.length).equals(noise))
  })

  it('the JS decoder matches the native one on random and repetitive data', () => {
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.constantFrom('abc', 'hello ', 'world', '{"k":1}', '\n'), { maxLength: 40_000 }).map((a) => Buffer.from(a.join(''))),
      fc.integer({ min: 0, max: 300_000 }).map((n) => Buffer.alloc(n, n & 0xff))
    )
    fc.assert(fc.property(data, fc.boolean(), (bytes, checksums) => {
      const packed: Buffer = checksums
        ? lz4napi.compressFrameSync(Buffer.from(bytes), { contentChecksum: true, blockChecksums: true })
        : lz4Compress(bytes)
      const viaJs = lz4Decompress(packed, bytes.length, { native: false })
      const viaNative = lz4Decompress(packed, bytes.length)
      assert.ok(Buffer.from(bytes).equals(viaJs))
      assert.ok(viaNative.equals(viaJs))
    }), { numRuns: 150 })
  })

  it('accepts the KAFKA-3160 header checksum (over magic and descriptor) on both paths', () => {
    const data = Buffer.from('kafka legacy lz4 '.repeat(100))
    const f = Buffer.from(lz4Compress(data))
    const info = inspectLz4Frame(f)
    f[info.headerChecksumAt] = (xxhash32(f, 0, info.headerChecksumAt) >>> 8) & 0xff
    assert.equal(inspectLz4Frame(f).brokenHeaderChecksum, true)
    assert.ok(lz4Decompress(f, data.length).equals(data))
    assert.ok(lz4Decompress(f, data.length, { native: false }).equals(data))
    f[info.headerChecksumAt]! ^= 0x55
    assert.throws(() => lz4Decompress(f, data.length), /header checksum/)
  })

  it('decodes linked blocks (block independence off), which reference earlier blocks', () => {
    const first = Buffer.from('abcdefghijklmnopqrst')
    // Block 1: 20 literals. Block 2: a 20-byte match at offset 20 (into block 1), then 5 literals.
    const block1 = compressedBlock(Buffer.concat([Buffer.from([0xf0, 5]), first]))
    const block2 = compressedBlock(Buffer.concat([Buffer.from([0x0f, 20, 0, 1, 0x50]), Buffer.from('tail!')]))
    const linked = frame(0x40, 0x40, [block1, block2])
    const expected = Buffer.concat([first, first, Buffer.from('tail!')])
    assert.ok(lz4Decompress(linked, 100, { native: false }).equals(expected))
    assert.ok(lz4Decompress(linked, 100).equals(expected))
    // The window spans several earlier blocks (stored and compressed).
    const split = frame(0x40, 0x40, [rawBlock(first.subarray(0, 8)), compressedBlock(Buffer.concat([Buffer.from([0xc0]), first.subarray(8)])), block2])
    assert.ok(lz4Decompress(split, 100, { native: false }).equals(expected))
    assert.ok(lz4Decompress(split, 100).equals(expected))
    // The same match in an independent frame reaches outside its block.
    const independent = frame(0x60, 0x40, [block1, block2])
    assert.throws(() => lz4Decompress(independent, 100, { native: false }), /before the window/)
    assert.throws(() => lz4Decompress(independent, 100), ProtocolDecodeError)
  })

  it('handles uncompressed blocks, overlapping matches and a declared content size', () => {
    const overlap = compressedBlock(Buffer.from([0x1f, 0x61, 1, 0, 30, 0x50, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a]))
    const expected = Buffer.concat([Buffer.alloc(50, 0x61), Buffer.from('zzzzz')])
    const data = frame(0x68, 0x40, [rawBlock(Buffer.from('raw!')), overlap], { contentSize: 59 })
    const info = inspectLz4Frame(data)
    assert.equal(info.contentSize, 59)
    assert.equal(info.maxOutput, 59)
    const want = Buffer.concat([Buffer.from('raw!'), expected])
    assert.ok(lz4Decompress(data, 59, { native: false }).equals(want))
    assert.ok(lz4Decompress(data, 59).equals(want))
    assert.throws(() => lz4Decompress(data, 58), DecompressionLimitError)
    const wrongSize = frame(0x68, 0x40, [rawBlock(Buffer.from('raw!'))], { contentSize: 5 })
    assert.throws(() => lz4Decompress(wrongSize, 100, { native: false }), /content size 5 declared, 4 decoded/)
    assert.throws(() => lz4Decompress(wrongSize, 100), ProtocolDecodeError)
  })

  it('verifies block and content checksums on the JS path', () => {
    const data = Buffer.from('checksummed '.repeat(5000))
    const packed: Buffer = lz4napi.compressFrameSync(data, { contentChecksum: true, blockChecksums: true })
    const info = inspectLz4Frame(packed)
    assert.equal(info.blockChecksum, true)
    assert.equal(info.contentChecksum, true)
    const badContent = Buffer.from(packed)
    badContent[badContent.length - 1]! ^= 1
    assert.throws(() => lz4Decompress(badContent, data.length, { native: false }), /content checksum/)
    assert.throws(() => lz4Decompress(badContent, data.length), ProtocolDecodeError)
    const badBlock = Buffer.from(packed)
    const firstSize = badBlock.readUInt32LE(info.dataStart) & 0x7fffffff
    badBlock[info.dataStart + 4 + firstSize]! ^= 1
    assert.throws(() => lz4Decompress(badBlock, data.length, { native: false }), /block checksum/)
  })

  it('rejects malformed headers and block framing with ProtocolDecodeError', () => {
    const good = lz4Compress(Buffer.from('hello hello hello'))
    const cases: Array<[string, Buffer, RegExp]> = [
      ['too short', good.subarray(0, 6), /shorter/],
      ['bad magic', Buffer.concat([Buffer.from([0, 0, 0, 0]), good.subarray(4)]), /magic/],
      ['version 0', frame(0x20, 0x40, []), /version/],
      ['reserved FLG bit', frame(0x62, 0x40, []), /reserved/],
      ['reserved BD bit', frame(0x60, 0x41, []), /reserved/],
      ['dictionary id', frame(0x61, 0x40, []), /dictionary/],
      ['block size id 3', frame(0x60, 0x30, []), /block maximum size id 3/],
      ['truncated content size', Buffer.concat([MAGIC, Buffer.from([0x68, 0x40, 1, 2])]), /truncated frame header/],
      ['no end mark', good.subarray(0, good.length - 4), /end mark/],
      ['truncated block', good.subarray(0, 12), /truncated block/],
      ['block over the maximum', frame(0x60, 0x40, [rawBlock(Buffer.alloc(70_000))]), /exceeds the frame maximum/],
      ['missing content checksum', frame(0x64, 0x40, [rawBlock(Buffer.from('x'))]), /content checksum/]
    ]
    const badHc = Buffer.from(good)
    badHc[6]! ^= 0xff
    cases.push(['header checksum', badHc, /header checksum/])
    for (const [name, buf, pattern] of cases) {
      assert.throws(() => lz4Decompress(buf, 1000), (e: unknown) => e instanceof ProtocolDecodeError && pattern.test(e.message), name)
    }
  })

  it('rejects corrupt sequences on the JS path', () => {
    const cases: Array<[string, Buffer]> = [
      ['literal length runs off the block', compressedBlock(Buffer.from([0xf0]))],
      ['literals overrun the block', compressedBlock(Buffer.from([0x50, 1, 2]))],
      ['truncated offset', compressedBlock(Buffer.from([0x10, 0x61, 1]))],
      ['offset zero', compressedBlock(Buffer.from([0x10, 0x61, 0, 0, 0x10, 0x61]))],
      ['match length runs off the block', compressedBlock(Buffer.from([0x1f, 0x61, 1, 0]))],
      ['output beyond the block maximum', compressedBlock(Buffer.concat([Buffer.from([0x1f, 0x61, 1, 0]), Buffer.alloc(300, 255), Buffer.from([10])]))]
    ]
    for (const [name, block] of cases) {
      // A limit above the block maximum: overflowing the 64 KB block is corruption, not the limit.
      assert.throws(() => lz4Decompress(frame(0x60, 0x40, [block]), 10_000_000, { native: false }), (e: unknown) => e instanceof ProtocolDecodeError && !(e instanceof DecompressionLimitError), name)
    }
  })

  it('a frame of many highly compressed blocks (a bomb) is stopped at the limit on both paths', () => {
    const block = firstBlockOf(Buffer.alloc(64 * 1024))
    assert.ok(block.length < 400)
    const bomb = frame(0x60, 0x40, Array.from<Buffer>({ length: 16_000 }).fill(block)) // ~1 GB decompressed
    const info = inspectLz4Frame(bomb)
    assert.equal(info.maxOutput, 16_000 * 64 * 1024)
    for (const native of [true, false]) {
      const started = process.hrtime.bigint()
      assert.throws(() => lz4Decompress(bomb, 10 * 1024 * 1024, { native }), DecompressionLimitError)
      assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 2000)
    }
    // Uncompressed blocks count exactly towards the limit too.
    assert.throws(() => lz4Decompress(frame(0x60, 0x40, [rawBlock(Buffer.alloc(600)), rawBlock(Buffer.alloc(600))]), 1000, { native: false }), DecompressionLimitError)
    // A declared content size over the limit fails before any decoding.
    assert.throws(() => lz4Decompress(frame(0x68, 0x40, [], { contentSize: 2 ** 40 }), 1 << 20), DecompressionLimitError)
    assert.equal(inspectLz4Frame(frame(0x68, 0x40, [], { contentSize: 2 ** 60 })).contentSize, Number.MAX_SAFE_INTEGER)
  })

  it('ignores bytes after the frame, as Kafka\'s reader does', () => {
    const data = Buffer.from('payload')
    assert.ok(lz4Decompress(Buffer.concat([lz4Compress(data), Buffer.from('trailing')]), 100).equals(data))
  })

  it('the JS decoder copies long distant matches', () => {
    const segment = randomBytes(1000)
    const data = Buffer.concat([segment, randomBytes(300), segment, segment])
    const packed = lz4Compress(data)
    assert.ok(packed.length < data.length - 1000)
    assert.ok(lz4Decompress(packed, data.length, { native: false }).equals(data))
  })

  it('accepts a Uint8Array that is not a Buffer', () => {
    const data = new Uint8Array([1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    assert.deepEqual([...lz4Decompress(new Uint8Array(lz4Compress(data)), 10)], [...data])
  })
})
