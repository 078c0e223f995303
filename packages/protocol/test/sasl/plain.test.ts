import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { PLAIN_MECHANISM, SaslError, formatPlain, parsePlain } from '../../src/sasl/mod.ts'
import { SaslAuthenticateApi } from '../../src/messages/sasl-authenticate.ts'
import { Reader } from '../../src/primitives/reader.ts'

const FIXTURES = process.env.KAFKAJS_FIXTURES ?? '/work/shared/kafka-fixtures/kafkajs'
const SASL_FIXTURES = join(FIXTURES, 'protocol/requests/saslAuthenticate/fixtures')

function fixture (name: string): Buffer {
  return Buffer.from((JSON.parse(readFileSync(join(SASL_FIXTURES, name), 'utf8')) as { data: number[] }).data)
}

function rejects (message: Uint8Array, pattern: RegExp): void {
  assert.throws(() => parsePlain(message), (err: unknown) => err instanceof SaslError && pattern.test(err.message))
}

const field = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\0'))

describe('SASL/PLAIN', () => {
  it('names the mechanism as Kafka does', () => {
    assert.equal(PLAIN_MECHANISM, 'PLAIN')
  })

  it('parses and formats the kafkajs SaslAuthenticate token', { skip: !existsSync(SASL_FIXTURES) && `no fixtures at ${SASL_FIXTURES}` }, () => {
    for (const name of ['v0_request_plain.json', 'plain_bytes.json']) {
      const r = new Reader(fixture(name))
      const { authBytes } = SaslAuthenticateApi.request.read(r, 0)
      assert.equal(r.remaining, 0)
      assert.deepEqual(parsePlain(authBytes), { authzid: '', username: 'test', password: 'testtest' })
      assert.deepEqual(formatPlain({ username: 'test', password: 'testtest' }), authBytes)
    }
  })

  it('parses RFC 4616 examples, with and without authzid', () => {
    assert.deepEqual(parsePlain(Buffer.from('\0tim\0tanstaaftanstaaf')), { authzid: '', username: 'tim', password: 'tanstaaftanstaaf' })
    assert.deepEqual(parsePlain(Buffer.from('Ursel\0Kurt\0xipj3plmq')), { authzid: 'Ursel', username: 'Kurt', password: 'xipj3plmq' })
  })

  it('round-trips any fields without NUL', () => {
    fc.assert(fc.property(field, field.filter((s) => s !== ''), field.filter((s) => s !== ''), (authzid, username, password) => {
      assert.deepEqual(parsePlain(formatPlain({ authzid, username, password })), { authzid, username, password })
    }))
  })

  it('rejects malformed messages with clear errors', () => {
    rejects(Buffer.from(''), /expected authzid NUL username NUL password/)
    rejects(Buffer.from('user'), /expected authzid NUL username NUL password/)
    rejects(Buffer.from('\0user'), /expected authzid NUL username NUL password/)
    rejects(Buffer.from('\0user\0pass\0more'), /more than two NUL/)
    rejects(Buffer.from('\0\0pass'), /username not specified/)
    rejects(Buffer.from('\0user\0'), /password not specified/)
    rejects(Buffer.from([0, 0x75, 0, 0xc3, 0x28]), /password is not valid UTF-8/)
    rejects(Buffer.from([0xff, 0, 0x75, 0, 0x70]), /authzid is not valid UTF-8/)
  })

  it('refuses to format fields that cannot be sent', () => {
    assert.throws(() => formatPlain({ username: '', password: 'p' }), SaslError)
    assert.throws(() => formatPlain({ username: 'u', password: '' }), SaslError)
    assert.throws(() => formatPlain({ username: 'u\0x', password: 'p' }), /username contains NUL/)
    assert.throws(() => formatPlain({ authzid: 'a\0', username: 'u', password: 'p' }), /authzid contains NUL/)
    assert.throws(() => formatPlain({ username: 'u', password: 'p\ud800' }), /unpaired surrogate/)
  })

  it('throws only SaslError on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      try {
        parsePlain(bytes)
      } catch (err) {
        assert.ok(err instanceof SaslError)
      }
    }))
  })

  it('brands SaslError for instanceof across package copies', () => {
    assert.ok({ [Symbol.for('samsa.protocol.SaslError')]: true } instanceof SaslError)
    assert.ok(!(new Error('x') instanceof SaslError))
    assert.equal(new SaslError('x').code, 'SAMSA_SASL')
  })
})
