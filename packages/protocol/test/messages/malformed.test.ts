// Malformed input ends in ProtocolDecodeError and nothing else: truncation at every byte,
// flipped bytes, random garbage, length fields that lie, unknown API keys and versions.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import type { MessageCodec } from '../../src/api.ts'
import { decodeRequest } from '../../src/frame.ts'
import { API_DEFINITIONS } from '../../src/messages/index.ts'
import { ProtocolDecodeError, Reader } from '../../src/primitives/mod.ts'
import { messageArbitrary, versionsOf } from '../helpers/arbitraries.ts'
import { encode } from '../helpers/codec.ts'

/** Decodes and reports 'ok' or 'decode-error'; any other exception fails the test. */
function tryDecode (codec: MessageCodec<unknown>, bytes: Buffer, v: number): 'ok' | 'decode-error' {
  try {
    codec.read(new Reader(bytes), v)
    return 'ok'
  } catch (error) {
    if (error instanceof ProtocolDecodeError) return 'decode-error'
    throw new Error(`${codec.schema.name} v${v} threw ${String(error)} for ${bytes.toString('hex').slice(0, 200)}`, { cause: error })
  }
}

function sample (codec: MessageCodec<unknown>, v: number, seed: number, count: number): unknown[] {
  return fc.sample(messageArbitrary(codec.schema, v), { seed, numRuns: count })
}

const codecs: Array<[string, MessageCodec<unknown>, number]> = []
for (const api of API_DEFINITIONS) {
  for (const v of versionsOf(api.request.schema)) {
    codecs.push([`${api.name} request v${v}`, api.request as MessageCodec<unknown>, v])
    codecs.push([`${api.name} response v${v}`, api.response as MessageCodec<unknown>, v])
  }
}

describe('truncated at every byte position', () => {
  test('every API, version and direction', () => {
    let checked = 0
    for (const [name, codec, v] of codecs) {
      for (const m of sample(codec, v, v + 1, 2)) {
        const { bytes } = encode(codec, m, v)
        // Every byte is consumed by some read, so every strict prefix must fail.
        const step = bytes.length > 4096 ? Math.ceil(bytes.length / 2048) : 1
        for (let cut = 0; cut < bytes.length; cut += step) {
          assert.equal(tryDecode(codec, bytes.subarray(0, cut), v), 'decode-error', `${name} cut at ${cut}`)
          checked++
        }
      }
    }
    assert.ok(checked > 10_000)
  })
})

describe('flipped bytes and garbage', () => {
  test('mutations of valid messages decode or fail with the typed error', () => {
    for (const [, codec, v] of codecs) {
      const messages = sample(codec, v, 7 * v + 3, 3)
      fc.assert(fc.property(
        fc.integer({ min: 0, max: messages.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (i, flips) => {
          const bytes = Buffer.from(encode(codec, messages[i], v).bytes)
          if (bytes.length === 0) return
          for (const [at, value] of flips) bytes[at % bytes.length] = value
          tryDecode(codec, bytes, v)
        }), { numRuns: 40 })
    }
  })

  test('random bytes decode or fail with the typed error', () => {
    for (const [, codec, v] of codecs) {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (a) => {
        tryDecode(codec, Buffer.from(a), v)
      }), { numRuns: 30 })
    }
  })
})

describe('length fields that lie', () => {
  const heapBefore = process.memoryUsage().heapUsed

  test('a 2 GB array count in a tiny buffer fails at once', () => {
    // Metadata v1 request: Topics is a nullable int32-count array.
    const bytes = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 1])
    const started = performance.now()
    assert.equal(tryDecode(API_DEFINITIONS[3]!.request as MessageCodec<unknown>, bytes, 1), 'decode-error')
    assert.ok(performance.now() - started < 50)
  })

  test('a compact array count of 2^32-2 fails at once', () => {
    // Metadata v9 request: Topics is a compact nullable array.
    const bytes = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0])
    assert.equal(tryDecode(API_DEFINITIONS[3]!.request as MessageCodec<unknown>, bytes, 9), 'decode-error')
  })

  test('a 2 GB bytes length fails without allocating', () => {
    // SaslAuthenticate v0 request: AuthBytes is int32-length bytes.
    const bytes = Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3])
    assert.equal(tryDecode(API_DEFINITIONS[36]!.request as MessageCodec<unknown>, bytes, 0), 'decode-error')
  })

  test('a string longer than the input fails', () => {
    // FindCoordinator v0 request: Key is an int16-length string.
    assert.equal(tryDecode(API_DEFINITIONS[10]!.request as MessageCodec<unknown>, Buffer.from([0x7f, 0xff, 0x61]), 0), 'decode-error')
  })

  test('varints longer than 5 bytes fail', () => {
    const r = new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))
    assert.throws(() => r.readUnsignedVarInt(), ProtocolDecodeError)
  })

  test('out-of-order tags fail', () => {
    // Heartbeat v4 request with two tagged fields 5 then 3.
    const body = Buffer.from([0x02, 0x67, 0, 0, 0, 1, 0x02, 0x6d, 0x00, 0x02, 5, 0, 3, 0])
    assert.equal(tryDecode(API_DEFINITIONS[12]!.request as MessageCodec<unknown>, body, 4), 'decode-error')
  })

  test('memory stayed bounded', () => {
    const grown = process.memoryUsage().heapUsed - heapBefore
    assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes`)
  })
})

describe('unknown API keys and versions', () => {
  function frame (apiKey: number, version: number, rest: number[] = []): Buffer {
    const b = Buffer.alloc(10)
    b.writeInt16BE(apiKey, 0)
    b.writeInt16BE(version, 2)
    b.writeInt32BE(42, 4)
    b.writeInt16BE(-1, 8)
    return Buffer.concat([b, Buffer.from(rest)])
  }

  test('an unknown API key', () => {
    assert.throws(() => decodeRequest(frame(1000, 0)), ProtocolDecodeError)
    assert.throws(() => decodeRequest(frame(-1, 0)), ProtocolDecodeError)
  })

  test('a version above the maximum', () => {
    assert.throws(() => decodeRequest(frame(3, 99)), /Metadata version 99 is outside 0-12/)
  })

  test('a negative version', () => {
    assert.throws(() => decodeRequest(frame(0, -1)), ProtocolDecodeError)
  })

  test('random frames decode or fail with the typed error', () => {
    fc.assert(fc.property(fc.integer({ min: -2, max: 90 }), fc.integer({ min: -1, max: 20 }), fc.uint8Array({ maxLength: 64 }), (key, version, rest) => {
      try {
        decodeRequest(frame(key, version, [...rest]))
      } catch (error) {
        assert.ok(error instanceof ProtocolDecodeError, String(error))
      }
    }), { numRuns: 3000 })
  })
})
