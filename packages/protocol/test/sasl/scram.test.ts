import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import {
  SCRAM_MIN_ITERATIONS, SaslError, ScramMechanism, type ScramMechanismName,
  formatClientFirst, formatServerFinal, formatServerFirst, isScramMechanism,
  parseClientFinal, parseClientFirst, parseServerFinal, parseServerFirst,
  scramClientFinalStep, scramCredential, scramEqual, scramEscapeName, scramNonce, scramServerFinalStep,
  scramUnescapeName, scramVerifyServerFinal
} from '../../src/sasl/mod.ts'
import { SaslAuthenticateApi } from '../../src/messages/sasl-authenticate.ts'
import { Reader } from '../../src/primitives/reader.ts'

const FIXTURES = process.env.KAFKAJS_FIXTURES ?? '/work/shared/kafka-fixtures/kafkajs'
const noFixtures = !existsSync(join(FIXTURES, 'protocol/requests/saslAuthenticate/fixtures'))

function fixture (path: string): Buffer {
  return Buffer.from((JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as { data: number[] }).data)
}

/** A SASL token framed as Kafka BYTES (int32 length), as the kafkajs raw-token fixtures are. */
function unframe (bytes: Buffer): Buffer {
  const r = new Reader(bytes)
  const token = r.readBytes()
  assert.equal(r.remaining, 0)
  return token
}

function rejects (fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof SaslError && pattern.test(err.message))
}

interface Exchange {
  mechanism: ScramMechanismName
  clientFirst: string
  serverFirst: string
  clientFinal: string
  serverFinal: string
}

// RFC 7677 §3: user "user", password "pencil".
const RFC7677: Exchange = {
  mechanism: 'SCRAM-SHA-256',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='
}

// No RFC gives SCRAM-SHA-512 vectors. These ("user"/"pencil") are the ones Apache Qpid's and other SASL
// libraries test against (e.g. Qpid ProtonJ2 ScramSHA512MechanismTest, "generated using external tooling").
const SHA512: Exchange = {
  mechanism: 'SCRAM-SHA-512',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO02431b08-2f89-4bad-a4e6-80c0564ec865,s=Yin2FuHTt/M0kJWb0t9OI32n2VmOGi3m+JfjOvuDF88=,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO02431b08-2f89-4bad-a4e6-80c0564ec865,p=Hc5yec3NmCD7t+kFRw4/3yD6/F3SQHc7AVYschRja+Bc3sbdjlA0eH1OjJc0DD4ghn1tnXN5/Wr6qm9xmaHt4A==',
  serverFinal: 'v=BQuhnKHqYDwQWS5jAw4sZed+C9KFUALsbrq81bB0mh+bcUUbbMPNNmBIupnS2AmyyDnG5CTBQtkjJ9kyY4kzmw=='
}

function checkVector (x: Exchange): void {
  // Client side, from the user's password.
  const clientFirst = formatClientFirst({ username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO' })
  assert.equal(clientFirst.message, x.clientFirst)
  const serverFirst = parseServerFirst(x.serverFirst)
  const step = scramClientFinalStep({ mechanism: x.mechanism, password: 'pencil', clientFirst, serverFirst })
  assert.equal(step.clientFinal.message, x.clientFinal)
  scramVerifyServerFinal(parseServerFinal(x.serverFinal), step.expectedServerSignature)

  // Broker side, from a stored credential only.
  const credential = scramCredential(x.mechanism, 'pencil', serverFirst.salt, serverFirst.iterations)
  const serverFinal = scramServerFinalStep({
    credential, clientFirst: parseClientFirst(x.clientFirst), serverFirst, clientFinal: parseClientFinal(x.clientFinal)
  })
  assert.equal(serverFinal.message, x.serverFinal)
  assert.equal(formatServerFirst({ nonce: serverFirst.nonce, salt: serverFirst.salt, iterations: 4096 }).message, x.serverFirst)
}

describe('SCRAM: test vectors', () => {
  it('reproduces the RFC 7677 SCRAM-SHA-256 exchange', () => checkVector(RFC7677))
  it('reproduces the SCRAM-SHA-512 exchange', () => checkVector(SHA512))

  it('rejects the RFC 7677 client-final with a wrong password on the broker', () => {
    const serverFirst = parseServerFirst(RFC7677.serverFirst)
    rejects(() => scramServerFinalStep({
      credential: scramCredential('SCRAM-SHA-256', 'pencil!', serverFirst.salt, 4096),
      clientFirst: parseClientFirst(RFC7677.clientFirst),
      serverFirst,
      clientFinal: parseClientFinal(RFC7677.clientFinal)
    }), /Invalid SCRAM client proof/)
  })

  it('rejects a forged server signature on the client', () => {
    const step = scramClientFinalStep({
      mechanism: 'SCRAM-SHA-256', password: 'pencil', clientFirst: parseClientFirst(RFC7677.clientFirst), serverFirst: parseServerFirst(RFC7677.serverFirst)
    })
    rejects(() => scramVerifyServerFinal(parseServerFinal(SHA512.serverFinal), step.expectedServerSignature), /Invalid SCRAM server signature/)
    rejects(() => scramVerifyServerFinal(parseServerFinal('e=invalid-proof'), step.expectedServerSignature), /server error: invalid-proof/)
  })
})

describe('SCRAM: kafkajs fixtures', { skip: noFixtures && `no fixtures under ${FIXTURES}` }, () => {
  const dir = 'protocol/requests/saslAuthenticate/fixtures/'

  it('parses and re-formats the client-first message of a SaslAuthenticate request', () => {
    for (const name of ['v0_request_scram256.json', 'scram256_bytes.json']) {
      const r = new Reader(fixture(dir + name))
      const { authBytes } = SaslAuthenticateApi.request.read(r, 0)
      assert.equal(r.remaining, 0)
      const first = parseClientFirst(authBytes)
      assert.equal(first.gs2Header, 'n,,')
      assert.equal(first.authzid, null)
      assert.equal(first.username, 'testscram')
      assert.equal(first.nonce, 'KyxnfH3lAzWfNMrhKbPp1g')
      assert.equal(first.bare, 'n=testscram,r=KyxnfH3lAzWfNMrhKbPp1g')
      assert.equal(first.tokenAuth, false)
      assert.deepEqual(Buffer.from(formatClientFirst({ username: 'testscram', nonce: first.nonce }).message), authBytes)
    }
  })

  it('parses and re-formats server-first messages, from responses and raw tokens', () => {
    const clientNonce = 'KyxnfH3lAzWfNMrhKbPp1g'
    const tokens: Array<[Buffer, number]> = [
      [SaslAuthenticateApi.response.read(new Reader(fixture(dir + 'v0_response_scram256.json')), 0).authBytes, 0],
      [SaslAuthenticateApi.response.read(new Reader(fixture(dir + 'v1_response_scram256.json')), 1).authBytes, 1],
      [unframe(fixture(dir + 'scram256_firstRequest_response.json')), 2],
      [unframe(fixture(dir + 'scram256_firstRequest_response_v1.json')), 3],
      [unframe(fixture('protocol/sasl/scram/firstMessage/fixtures/response.json')), 4]
    ]
    for (const [token, i] of tokens) {
      const first = parseServerFirst(token)
      assert.equal(first.iterations, 8192, `token ${i}`)
      assert.ok(first.salt.length > 0)
      assert.equal(first.nonce.length, 48)
      assert.deepEqual(Buffer.from(formatServerFirst(first).message), token)
    }
    // The v0 response answers the v0 request: its nonce extends the client's.
    const answer = parseServerFirst(tokens[0]![0])
    assert.ok(answer.nonce.startsWith(clientNonce))
    assert.equal(answer.salt.toString('utf8'), '1j23lyagylz57lspglkacgyb28')

    // A whole exchange on top of the captured pair, both sides computed here.
    const clientFirst = formatClientFirst({ username: 'testscram', nonce: clientNonce })
    const step = scramClientFinalStep({ mechanism: 'SCRAM-SHA-256', password: 'testtest', clientFirst, serverFirst: answer })
    const serverFinal = scramServerFinalStep({
      credential: scramCredential('SCRAM-SHA-256', 'testtest', answer.salt, answer.iterations),
      clientFirst: parseClientFirst(clientFirst.message),
      serverFirst: answer,
      clientFinal: parseClientFinal(step.clientFinal.message)
    })
    scramVerifyServerFinal(parseServerFinal(serverFinal.message), step.expectedServerSignature)
  })
})

describe('SCRAM: message formats', () => {
  it('names the two mechanisms Kafka supports', () => {
    assert.deepEqual(Object.values(ScramMechanism), ['SCRAM-SHA-256', 'SCRAM-SHA-512'])
    assert.ok(isScramMechanism('SCRAM-SHA-512'))
    assert.ok(!isScramMechanism('SCRAM-SHA-1'))
    assert.ok(!isScramMechanism('toString'))
    assert.equal(SCRAM_MIN_ITERATIONS, 4096)
  })

  it('escapes "=" and "," in names (RFC 5802 §5.1)', () => {
    assert.equal(scramEscapeName('a=b,c'), 'a=3Db=2Cc')
    assert.equal(scramUnescapeName('a=3Db=2Cc=3D2C'), 'a=b,c=2C')
    const first = formatClientFirst({ username: 'a=b,c', nonce: 'xyz', authzid: 'admin,x' })
    assert.equal(first.message, 'n,a=admin=2Cx,n=a=3Db=2Cc,r=xyz')
    assert.equal(first.bare, 'n=a=3Db=2Cc,r=xyz')
    const parsed = parseClientFirst(first.message)
    assert.equal(parsed.username, 'a=b,c')
    assert.equal(parsed.authzid, 'admin,x')
    assert.equal(parsed.gs2Header, 'n,a=admin=2Cx,')
  })

  it('carries Kafka\'s tokenauth extension (KIP-48) after the nonce', () => {
    const first = formatClientFirst({ username: 'tokenid', nonce: 'n0nce', extensions: { tokenauth: 'true' } })
    assert.equal(first.message, 'n,,n=tokenid,r=n0nce,tokenauth=true')
    assert.ok(first.tokenAuth)
    const parsed = parseClientFirst('n,,n=tokenid,r=n0nce,tokenauth=TRUE,other=x=y')
    assert.ok(parsed.tokenAuth)
    assert.deepEqual([...parsed.extensions], [['tokenauth', 'TRUE'], ['other', 'x=y']])
    assert.equal(parsed.bare, 'n=tokenid,r=n0nce,tokenauth=TRUE,other=x=y')
    assert.equal(parseClientFirst('n,,n=u,r=n,tokenauth=false').tokenAuth, false)
    assert.equal(formatClientFirst({ username: 'u', nonce: 'n', extensions: new Map([['tokenauth', 'true']]) }).tokenAuth, true)
  })

  it('accepts the "y" gs2 flag (client supports channel binding, server does not)', () => {
    assert.equal(parseClientFirst('y,,n=user,r=abc').gs2Header, 'y,,')
  })

  it('round-trips client-first messages', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((s) => !s.includes('\0'))
    const nonce = fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{1,24}$/)
    fc.assert(fc.property(name, fc.option(name, { nil: undefined }), nonce, (username, authzid, n) => {
      const first = formatClientFirst(authzid === undefined ? { username, nonce: n } : { username, nonce: n, authzid })
      const parsed = parseClientFirst(Buffer.from(first.message, 'utf8'))
      assert.deepEqual(parsed, first)
    }))
  })

  it('rejects malformed client-first messages', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /gs2 flag/],
      ['x,,n=user,r=abc', /gs2 flag/],
      ['p=tls-unique,,n=user,r=abc', /channel binding is not supported/],
      ['n', /no gs2 header/],
      ['n,b=x,n=user,r=abc', /missing attribute a=/],
      ['n,a=,n=user,r=abc', /authzid is empty/],
      ['n,,m=ext,n=user,r=abc', /mandatory extension m=/],
      ['n,,r=abc,n=user', /missing attribute n=/],
      ['n,,n=,r=abc', /username is empty/],
      ['n,,n=us=er,r=abc', /"=" not followed by 2C or 3D/],
      ['n,,n=user', /missing attribute r=/],
      ['n,,n=user,r=', /client nonce/],
      ['n,,n=user,r=a b', /client nonce/],
      ['n,,n=user,r=abc,', /malformed attribute/],
      ['n,,n=user,r=abc,1x=2', /malformed attribute/],
      ['n,,n=user,r=abc,ext', /ext has an empty or invalid value/],
      ['n,,n=user,r=abc,ext=', /ext has an empty or invalid value/],
      ['n,,n=user,r=abc,e=1,e=2', /repeats extension e/],
      ['n,,n=user,r=abc,m=1', /mandatory extension m=/]
    ]
    for (const [message, pattern] of cases) rejects(() => parseClientFirst(message), pattern)
    rejects(() => parseClientFirst(Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61])), /not valid UTF-8/)
  })

  it('refuses to format client-first messages that cannot be sent', () => {
    rejects(() => formatClientFirst({ username: '', nonce: 'abc' }), /username is empty/)
    rejects(() => formatClientFirst({ username: 'u\0', nonce: 'abc' }), /contains NUL/)
    rejects(() => formatClientFirst({ username: 'u', nonce: 'a,b' }), /client nonce/)
    rejects(() => formatClientFirst({ username: 'u', nonce: 'abc', extensions: { 'a=b': 'c' } }), /not letters only/)
    rejects(() => formatClientFirst({ username: 'u', nonce: 'abc', extensions: { ext: 'a,b' } }), /contains a comma/)
    rejects(() => formatClientFirst({ username: 'u', nonce: 'abc', extensions: { m: 'x' } }), /mandatory extension/)
  })

  it('rejects malformed server-first messages', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /missing attribute r=/],
      ['m=x,r=abc,s=c2FsdA==,i=4096', /mandatory extension m=/],
      ['s=c2FsdA==,r=abc,i=4096', /missing attribute r=/],
      ['r=abc,s=,i=4096', /salt is not valid base64/],
      ['r=abc,s=c2FsdA=,i=4096', /salt is not valid base64/],
      ['r=abc,s=c2Fs!A==,i=4096', /salt is not valid base64/],
      ['r=abc,s=c2FsdA==', /missing attribute i=/],
      ['r=abc,s=c2FsdA==,i=', /iteration count/],
      ['r=abc,s=c2FsdA==,i=0', /iteration count/],
      ['r=abc,s=c2FsdA==,i=04096', /iteration count/],
      ['r=abc,s=c2FsdA==,i=-1', /iteration count/],
      ['r=abc,s=c2FsdA==,i=4096x', /iteration count/],
      ['r=abc,s=c2FsdA==,i=2147483648', /iteration count/],
      ['r=abc,s=c2FsdA==,i=4096,x', /invalid value/]
    ]
    for (const [message, pattern] of cases) rejects(() => parseServerFirst(message), pattern)
    const ok = parseServerFirst('r=abc,s=c2FsdA==,i=4096,ext=1')
    assert.deepEqual([ok.nonce, ok.salt.toString(), ok.iterations, [...ok.extensions]], ['abc', 'salt', 4096, [['ext', '1']]])
  })

  it('refuses to offer fewer than 4096 iterations, as Kafka\'s broker does', () => {
    rejects(() => formatServerFirst({ nonce: 'abcdef', salt: Buffer.from('salt'), iterations: 4095 }), /below the minimum 4096/)
    rejects(() => formatServerFirst({ nonce: 'abcdef', salt: Buffer.alloc(0), iterations: 4096 }), /salt is empty/)
  })

  it('rejects malformed client-final messages', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /missing attribute c=/],
      ['c=biws', /missing attribute r=/],
      ['c=biws,r=abc', /missing attribute p=/],
      ['c=biws,r=abc,p=', /client proof is not valid base64/],
      ['c=biws,r=abc,p=AAAA,x=1', /missing attribute p=/],
      ['c=bi ws,r=abc,p=AAAA', /channel binding is not valid base64/],
      ['c=,r=abc,p=AAAA', /channel binding is not valid base64/],
      ['r=abc,c=biws,p=AAAA', /missing attribute c=/]
    ]
    for (const [message, pattern] of cases) rejects(() => parseClientFinal(message), pattern)
    const ok = parseClientFinal('c=biws,r=abc,ext=1,p=AAAA')
    assert.equal(ok.withoutProof, 'c=biws,r=abc,ext=1')
    assert.equal(ok.channelBinding.toString(), 'n,,')
    assert.deepEqual([...ok.extensions], [['ext', '1']])
  })

  it('parses and formats server-final messages', () => {
    const ok = parseServerFinal('v=AAAA,ext=1')
    assert.deepEqual(ok.serverSignature, Buffer.from([0, 0, 0]))
    assert.equal(ok.error, null)
    const failed = parseServerFinal('e=invalid-proof')
    assert.equal(failed.error, 'invalid-proof')
    assert.equal(failed.serverSignature, null)
    assert.equal(formatServerFinal({ error: 'unknown-user' }).message, 'e=unknown-user')
    for (const [message, pattern] of [['', /missing attribute v=/], ['v=', /not valid base64/], ['e=', /error value/], ['x=1', /missing attribute v=/]] as const) {
      rejects(() => parseServerFinal(message), pattern)
    }
    rejects(() => formatServerFinal({ error: 'a,b' }), /error value/)
  })

  it('throws only SaslError on arbitrary input', () => {
    const parsers = [parseClientFirst, parseServerFirst, parseClientFinal, parseServerFinal]
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.uint8Array({ maxLength: 60 })), (input) => {
      for (const parse of parsers) {
        try {
          parse(input)
        } catch (err) {
          assert.ok(err instanceof SaslError, `unexpected ${String(err)}`)
        }
      }
    }))
  })
})

describe('SCRAM: exchange checks', () => {
  const clientFirst = formatClientFirst({ username: 'alice', nonce: 'clientnonce' })
  const salt = Buffer.from('pepper')

  it('makes printable, comma-free, distinct nonces', () => {
    const a = scramNonce()
    assert.match(a, /^[\x21-\x2b\x2d-\x7e]{32}$/)
    assert.notEqual(a, scramNonce())
  })

  it('refuses a server nonce that does not extend the client nonce', () => {
    for (const nonce of ['othernonce123', 'clientnonce']) {
      rejects(() => scramClientFinalStep({
        mechanism: 'SCRAM-SHA-256', password: 'pw', clientFirst, serverFirst: parseServerFirst(`r=${nonce},s=cGVwcGVy,i=4096`)
      }), /Invalid SCRAM server nonce/)
    }
  })

  it('refuses fewer than 4096 iterations on the client, as Kafka\'s client does', () => {
    rejects(() => scramClientFinalStep({
      mechanism: 'SCRAM-SHA-512', password: 'pw', clientFirst, serverFirst: parseServerFirst('r=clientnonceXYZ,s=cGVwcGVy,i=4095')
    }), /below the minimum 4096/)
  })

  it('rejects a client-final with the wrong nonce, channel binding or proof length', () => {
    const serverFirst = formatServerFirst({ nonce: 'clientnonceSERVER', salt, iterations: 4096 })
    const credential = scramCredential('SCRAM-SHA-256', 'pw', salt, 4096)
    const { clientFinal } = scramClientFinalStep({ mechanism: 'SCRAM-SHA-256', password: 'pw', clientFirst, serverFirst })
    const server = (final: string): unknown => scramServerFinalStep({ credential, clientFirst, serverFirst, clientFinal: parseClientFinal(final) })
    const proof = clientFinal.proof.toString('base64')
    assert.match((server(clientFinal.message) as { message: string }).message, /^v=/)
    rejects(() => server(`c=biws,r=clientnonceOTHER,p=${proof}`), /Invalid SCRAM client nonce/)
    rejects(() => server(`c=${Buffer.from('n,a=alice,').toString('base64')},r=clientnonceSERVER,p=${proof}`), /channel binding/)
    rejects(() => server('c=biws,r=clientnonceSERVER,p=AAAA'), /Invalid SCRAM client proof/)
    // The same proof under another mechanism's credential fails on length first.
    rejects(() => scramServerFinalStep({
      credential: scramCredential('SCRAM-SHA-512', 'pw', salt, 4096), clientFirst, serverFirst, clientFinal
    }), /Invalid SCRAM client proof/)
  })

  it('compares in constant time and treats different lengths as unequal', () => {
    assert.ok(scramEqual(Buffer.from('abc'), Buffer.from('abc')))
    assert.ok(!scramEqual(Buffer.from('abc'), Buffer.from('abd')))
    assert.ok(!scramEqual(Buffer.from('abc'), Buffer.from('abcd')))
  })

  it('completes exchanges for any user and password, with both mechanisms', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).filter((s) => !s.includes('\0'))
    const mechanism = fc.constantFrom<ScramMechanismName>('SCRAM-SHA-256', 'SCRAM-SHA-512')
    fc.assert(fc.property(mechanism, text, text, fc.uint8Array({ minLength: 1, maxLength: 16 }), (mech, username, password, saltBytes) => {
      const first = formatClientFirst({ username, nonce: scramNonce() })
      const serverFirst = formatServerFirst({ nonce: first.nonce + scramNonce(), salt: saltBytes, iterations: 4096 })
      const step = scramClientFinalStep({ mechanism: mech, password, clientFirst: parseClientFirst(first.message), serverFirst: parseServerFirst(serverFirst.message) })
      const serverFinal = scramServerFinalStep({
        credential: scramCredential(mech, password, saltBytes, 4096),
        clientFirst: parseClientFirst(first.message),
        serverFirst: parseServerFirst(serverFirst.message),
        clientFinal: parseClientFinal(step.clientFinal.message)
      })
      scramVerifyServerFinal(parseServerFinal(serverFinal.message), step.expectedServerSignature)
    }), { numRuns: 15 })
  })
})
