import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { crc32c, crc32cJs, crc32cNative, CRC32C_IMPLEMENTATION, loadNativeCrc32c } from '../../src/records/crc32c.ts'
import { fixture, HAVE_FIXTURES, SKIP_REASON } from './fixtures.ts'

// kafkajs's crc32C spec (src/protocol/recordBatch/crc32C/index.spec.js).
const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. Morbi mollis cursus metus vel tristique. Proin congue massa massa, a malesuada dolor ullamcorper a. Nulla eget leo vel orci venenatis placerat. Donec semper condimentum justo, vel sollicitudin dolor consequat id. Nunc sed aliquet felis, eget congue nisi. Mauris eu justo suscipit, elementum turpis ut, molestie tellus. Mauris ornare rutrum fringilla. Nulla dignissim luctus pretium. Nullam nec eros hendrerit sapien pellentesque sollicitudin. Integer eget ligula dui. Mauris nec cursus nibh. Nunc interdum elementum leo, eu sagittis eros sodales nec. Duis dictum nulla sed tincidunt malesuada. Quisque in vulputate sapien. Sed sit amet tellus a est porta rhoncus sed eu metus. Mauris non pulvinar nisl, volutpat luctus enim. Suspendisse est nisi, sagittis at risus quis, ultricies rhoncus sem. Donec ullamcorper purus eget sapien facilisis, eu eleifend felis viverra. Suspendisse elit neque, semper aliquet neque sed, egestas tempus leo. Duis condimentum turpis duis.'

describe('crc32c', () => {
  it('uses the native implementation on this machine', () => {
    assert.equal(CRC32C_IMPLEMENTATION, 'native')
    assert.notEqual(crc32cNative, null)
  })

  it('falls back (null native) when the package is missing or lacks crc32c', () => {
    assert.equal(loadNativeCrc32c('samsa-no-such-package'), null)
    assert.equal(loadNativeCrc32c('node:zlib'), null)
    assert.equal(typeof loadNativeCrc32c(), 'function')
  })

  for (const [name, fn] of [['crc32c', crc32c], ['crc32cJs', crc32cJs]] as const) {
    it(`${name}: known answers`, () => {
      assert.equal(fn(Buffer.from('123456789')), 0xe3069283)
      assert.equal(fn(Buffer.alloc(0)), 0)
      assert.equal(fn(Buffer.from('\u0000')), 1383945041)
      assert.equal(fn(Buffer.from(LOREM)), 1796588439)
      // RFC 3720 B.4: 32 bytes of zeros, of 0xff, and ascending.
      assert.equal(fn(Buffer.alloc(32)), 0x8a9136aa)
      assert.equal(fn(Buffer.alloc(32, 0xff)), 0x62a8ab43)
      assert.equal(fn(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e)
    })

    it(`${name}: matches Java's CRC32C on kafkajs's crcPayload fixture`, { skip: !HAVE_FIXTURES && SKIP_REASON }, () => {
      assert.equal(fn(fixture('recordBatch/crc32C/fixtures/crcPayload.json')), 818496390)
    })
  }

  it('JS and native agree on random input, ranges and lengths around the native threshold', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const buf = Buffer.from(bytes)
      const start = bytes.length === 0 ? 0 : a % bytes.length
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1))
      const expected = crc32cJs(buf.subarray(start, end))
      assert.equal(crc32cJs(buf, start, end), expected)
      assert.equal(crc32c(buf, start, end), expected)
      assert.equal(crc32cNative!(buf.subarray(start, end)) >>> 0, expected)
    }), { numRuns: 500 })
  })

  it('continues a previous CRC (crc32cJs initial argument)', () => {
    const a = Buffer.from('hello, ')
    const b = Buffer.from('world and more than eight bytes')
    assert.equal(crc32cJs(b, 0, b.length, crc32cJs(a)), crc32cJs(Buffer.concat([a, b])))
  })

  it('handles a large buffer with an unaligned start', () => {
    const big = Buffer.alloc(1 << 20)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff
    assert.equal(crc32c(big, 3, big.length - 5), crc32cJs(big, 3, big.length - 5))
  })
})
