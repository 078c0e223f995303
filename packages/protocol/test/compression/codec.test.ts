import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { compress, compressionName, CompressionType, decompress, isCompressionType } from '../../src/compression/codec.ts'
import { corruptCompressedData, DecompressionLimitError } from '../../src/compression/errors.ts'
import { gzipDecompress } from '../../src/compression/gzip.ts'
import { lazyNative } from '../../src/compression/native.ts'
import { zstdCompress, zstdDecompress } from '../../src/compression/zstd.ts'
import { ProtocolDecodeError, ProtocolEncodeError } from '../../src/primitives/errors.ts'

const CODECS = [CompressionType.gzip, CompressionType.snappy, CompressionType.lz4, CompressionType.zstd] as const

/** JSON-ish text: what compresses like real Kafka payloads. */
function jsonish (bytes: number): Buffer {
  const parts: string[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const line = `{"id":${i},"user":"user-${i % 97}","event":"click","ts":${1_700_000_000_000 + i * 13},"tags":["a","b${i % 7}"]}\n`
    parts.push(line)
    size += line.length
  }
  return Buffer.from(parts.join('')).subarray(0, bytes)
}

function isTyped (error: unknown): boolean {
  return error instanceof ProtocolDecodeError
}

describe('compression codecs', () => {
  it('has Kafka\'s codec ids and names', () => {
    assert.deepEqual(CompressionType, { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 })
    assert.deepEqual([0, 1, 2, 3, 4].map((t) => compressionName(t as CompressionType)), ['none', 'gzip', 'snappy', 'lz4', 'zstd'])
    assert.equal(isCompressionType(4), true)
    assert.equal(isCompressionType(5), false)
    assert.equal(isCompressionType(1.5), false)
    assert.equal(isCompressionType(-1), false)
  })

  it('round-trips random data with every codec', () => {
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }),
      fc.integer({ min: 0, max: 300_000 }).map((n) => jsonish(n)),
      fc.integer({ min: 0, max: 200_000 }).map((n) => new Uint8Array(n))
    )
    fc.assert(fc.property(data, fc.constantFrom(...CODECS), (bytes, codec) => {
      const packed = compress(codec, bytes)
      const unpacked = decompress(codec, packed, bytes.length)
      assert.ok(Buffer.from(bytes).equals(unpacked))
    }), { numRuns: 200 })
  })

  it('none passes bytes through, still bounded', () => {
    const data = Buffer.from('abc')
    assert.equal(compress(CompressionType.none, data).toString(), 'abc')
    assert.equal(decompress(CompressionType.none, data, 3).toString(), 'abc')
    assert.throws(() => decompress(CompressionType.none, data, 2), DecompressionLimitError)
  })

  it('compresses a 1 MB JSON-ish payload to a fraction with every codec', () => {
    const payload = jsonish(1 << 20)
    for (const codec of CODECS) {
      const packed = compress(codec, payload)
      assert.ok(packed.length < payload.length / 3, `${compressionName(codec)}: ${packed.length}`)
      assert.ok(decompress(codec, packed, payload.length).equals(payload))
      assert.throws(() => decompress(codec, packed, payload.length - 1), DecompressionLimitError, compressionName(codec))
    }
  })

  it('honours gzip and zstd levels', () => {
    const payload = jsonish(200_000)
    assert.ok(compress(CompressionType.gzip, payload, 9).length <= compress(CompressionType.gzip, payload, 1).length)
    assert.ok(compress(CompressionType.zstd, payload, 19).length <= compress(CompressionType.zstd, payload, 1).length)
    assert.ok(zstdDecompress(zstdCompress(payload, 19), payload.length).equals(payload))
  })

  it('reports a codec package that cannot be loaded, on every use', () => {
    const load = lazyNative<unknown>('samsa-no-such-codec')
    assert.throws(() => load(), /could not be loaded/)
    assert.throws(() => load(), /'samsa-no-such-codec'/)
    const zlib = lazyNative<{ crc32: unknown }>('node:zlib')
    assert.equal(zlib(), zlib())
  })

  it('rejects unknown codecs and invalid limits', () => {
    assert.throws(() => compress(7 as CompressionType, Buffer.alloc(1)), ProtocolEncodeError)
    assert.throws(() => decompress(5, Buffer.alloc(1), 10), ProtocolDecodeError)
    assert.throws(() => decompress(1, Buffer.alloc(1), -1), RangeError)
    assert.throws(() => decompress(1, Buffer.alloc(1), Number.NaN), RangeError)
  })

  it('an infinite limit means no limit', () => {
    const data = jsonish(10_000)
    for (const codec of CODECS) assert.ok(decompress(codec, compress(codec, data), Number.POSITIVE_INFINITY).equals(data), compressionName(codec))
  })

  it('a zero limit accepts only empty output', () => {
    for (const codec of CODECS) {
      assert.equal(decompress(codec, compress(codec, Buffer.alloc(0)), 0).length, 0, compressionName(codec))
      assert.throws(() => decompress(codec, compress(codec, Buffer.from('x')), 0), DecompressionLimitError, compressionName(codec))
    }
  })

  it('gzip: concatenated members, truncation and a bad CRC', () => {
    const two = Buffer.concat([gzipSync('ab'), gzipSync('cd')])
    assert.equal(gzipDecompress(two, 10).toString(), 'abcd')
    const one = gzipSync('hello world')
    for (let n = 0; n < one.length; n++) assert.throws(() => gzipDecompress(one.subarray(0, n), 100), ProtocolDecodeError, `${n} bytes`)
    const badCrc = Buffer.from(one)
    badCrc[one.length - 6]! ^= 1
    assert.throws(() => gzipDecompress(badCrc, 100), /Corrupt gzip/)
  })

  it('DecompressionLimitError is a ProtocolDecodeError, but not every ProtocolDecodeError is one', () => {
    const error = new DecompressionLimitError('gzip', 10)
    assert.ok(error instanceof ProtocolDecodeError)
    assert.ok(error instanceof DecompressionLimitError)
    assert.equal(error.name, 'DecompressionLimitError')
    assert.equal(error.limit, 10)
    assert.equal(error.codec, 'gzip')
    assert.equal(error.code, 'SAMSA_PROTOCOL_DECODE')
    assert.ok(!(new ProtocolDecodeError('x', 0) instanceof DecompressionLimitError))
    assert.ok(!((null as unknown) instanceof DecompressionLimitError))
    // Wrapping keeps typed errors and turns anything else into a ProtocolDecodeError.
    assert.equal(corruptCompressedData('gzip', error), error)
    const wrapped = corruptCompressedData('zstd', 'boom')
    assert.ok(wrapped instanceof ProtocolDecodeError)
    assert.match(wrapped.message, /Corrupt zstd data: boom/)
  })

  it('corrupt input to any codec ends in ProtocolDecodeError, never a crash or another exception', () => {
    const seeds = CODECS.map((codec) => [codec, compress(codec, jsonish(5000))] as const)
    fc.assert(fc.property(fc.nat(seeds.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(), (which, flips, cut) => {
      const [codec, packed] = seeds[which]!
      const buf = Buffer.from(packed)
      for (const [at, value] of flips) buf[at % buf.length] = value
      const input = cut % 3 === 0 ? buf.subarray(0, cut % buf.length) : buf
      try {
        decompress(codec, input, 1 << 20)
      } catch (error) {
        assert.ok(isTyped(error), `${compressionName(codec)}: ${String(error)}`)
      }
    }), { numRuns: 3000 })
  })

  it('random bytes to any codec end in ProtocolDecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...CODECS), (bytes, codec) => {
      try {
        decompress(codec, bytes, 1 << 20)
      } catch (error) {
        assert.ok(isTyped(error), `${compressionName(codec)}: ${String(error)}`)
      }
    }), { numRuns: 2000 })
  })
})
