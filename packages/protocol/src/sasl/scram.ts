/**
 * SCRAM (RFC 5802, RFC 7677) as Kafka uses it (KIP-84): the four messages, parsed and formatted with
 * every attribute validated, and the key derivation and proofs that a client and a broker both need.
 *
 * Kafka specifics, from clients/src/main/java/org/apache/kafka/common/security/scram/internals/:
 * - mechanisms SCRAM-SHA-256 and SCRAM-SHA-512, with 4096 to 16384 iterations (ScramMechanism.java);
 *   a client refuses to hash fewer than 4096, a broker refuses to offer fewer;
 * - the password is hashed as plain UTF-8 (ScramFormatter.normalize), without SASLprep;
 * - client-first may carry extensions after the nonce, e.g. `tokenauth=true` for delegation tokens
 *   (KIP-48); names are letters, values any text without commas (ScramMessages.java).
 * Channel binding is not supported (Kafka has no -PLUS mechanisms), so the gs2 flag is "n" or "y".
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { SaslError } from './sasl-error.ts'
import { checkWellFormed, decodeUtf8 } from './utf8.ts'

export const ScramMechanism = {
  SCRAM_SHA_256: 'SCRAM-SHA-256',
  SCRAM_SHA_512: 'SCRAM-SHA-512'
} as const
export type ScramMechanismName = typeof ScramMechanism[keyof typeof ScramMechanism]

/** Kafka's iteration bounds for both mechanisms (ScramMechanism.java). */
export const SCRAM_MIN_ITERATIONS = 4096
export const SCRAM_MAX_ITERATIONS = 16384

/** The client-first extension that marks a delegation-token login (Kafka's ScramLoginModule.TOKEN_AUTH_CONFIG). */
export const SCRAM_TOKEN_AUTH_EXTENSION = 'tokenauth'

const HASHES: Readonly<Record<ScramMechanismName, { readonly hash: string, readonly size: number }>> = {
  'SCRAM-SHA-256': { hash: 'sha256', size: 32 },
  'SCRAM-SHA-512': { hash: 'sha512', size: 64 }
}

export function isScramMechanism (name: string): name is ScramMechanismName {
  return Object.hasOwn(HASHES, name)
}

function algorithm (mechanism: ScramMechanismName): { readonly hash: string, readonly size: number } {
  const found = isScramMechanism(mechanism) ? HASHES[mechanism] : undefined
  if (found === undefined) throw new SaslError(`Unsupported SCRAM mechanism ${String(mechanism)}`)
  return found
}

// ---- attribute syntax (RFC 5802 §7) ----

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const POSITIVE_NUMBER = /^[1-9][0-9]*$/
const EXTENSION_NAME = /^[A-Za-z]+$/
const SASLNAME = /^(?:[^\0,=]|=2C|=3D)+$/

type Extensions = ReadonlyMap<string, string>

function checkNonce (nonce: string, what: string): void {
  if (!PRINTABLE.test(nonce)) throw new SaslError(`SCRAM ${what} nonce is empty or has a character outside printable ASCII or a comma`)
}

function decodeBase64 (value: string, what: string, allowEmpty = false): Buffer {
  if ((!allowEmpty && value === '') || !BASE64.test(value)) throw new SaslError(`SCRAM ${what} is not valid base64`)
  return Buffer.from(value, 'base64')
}

/** `=` becomes `=3D` and `,` becomes `=2C` (RFC 5802 §5.1, Kafka's ScramFormatter.saslName). */
export function scramEscapeName (name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C')
}

export function scramUnescapeName (saslName: string): string {
  return saslName.replace(/=2C|=3D/g, (m) => m === '=2C' ? ',' : '=')
}

function parseSaslName (value: string, what: string): string {
  if (!SASLNAME.test(value)) throw new SaslError(`SCRAM ${what} is empty, contains NUL, or has "=" not followed by 2C or 3D`)
  return scramUnescapeName(value)
}

function checkName (value: string, what: string): void {
  if (value === '') throw new SaslError(`SCRAM ${what} is empty`)
  if (value.includes('\0')) throw new SaslError(`SCRAM ${what} contains NUL`)
  checkWellFormed(value, `SCRAM ${what}`)
}

/** Parses `name=value` extensions; names are letters, values non-empty, duplicates rejected. */
function parseExtensions (parts: readonly string[], what: string): Map<string, string> {
  const extensions = new Map<string, string>()
  for (const part of parts) {
    const eq = part.indexOf('=')
    const name = eq === -1 ? part : part.slice(0, eq)
    const value = eq === -1 ? '' : part.slice(eq + 1)
    if (!EXTENSION_NAME.test(name)) throw new SaslError(`SCRAM ${what} has a malformed attribute`)
    if (name === 'm') throw new SaslError(`SCRAM ${what} has the mandatory extension m=, which is not supported`)
    if (value === '' || value.includes('\0')) throw new SaslError(`SCRAM ${what} extension ${name} has an empty or invalid value`)
    if (extensions.has(name)) throw new SaslError(`SCRAM ${what} repeats extension ${name}`)
    extensions.set(name, value)
  }
  return extensions
}

function formatExtensions (input: ReadonlyMap<string, string> | Readonly<Record<string, string>> | undefined, what: string): Map<string, string> {
  const entries: Array<[string, string]> = input === undefined
    ? []
    : input instanceof Map ? [...(input as ReadonlyMap<string, string>)] : Object.entries(input as Readonly<Record<string, string>>)
  for (const [name, value] of entries) {
    // Checked one by one: joined into "name=value" text, a name holding "=" would pass as another name.
    if (!EXTENSION_NAME.test(name)) throw new SaslError(`SCRAM ${what} extension name ${JSON.stringify(name)} is not letters only`)
    if (value.includes(',')) throw new SaslError(`SCRAM ${what} extension ${name} contains a comma`)
    checkWellFormed(value, `SCRAM ${what} extension ${name}`)
  }
  return parseExtensions(entries.map(([name, value]) => `${name}=${value}`), what)
}

function extensionSuffix (extensions: Extensions): string {
  let out = ''
  for (const [name, value] of extensions) out += `,${name}=${value}`
  return out
}

function toText (message: string | Uint8Array, what: string): string {
  return typeof message === 'string' ? message : decodeUtf8(message, `SCRAM ${what}`)
}

/** Splits off `name=` and returns the value, or fails naming the expected attribute. */
function attribute (part: string | undefined, name: string, what: string): string {
  if (part === undefined || !part.startsWith(`${name}=`)) throw new SaslError(`SCRAM ${what} is missing attribute ${name}=`)
  return part.slice(name.length + 1)
}

// ---- client-first-message ----

/** client-first-message: `gs2-header n=username,r=nonce[,extensions]`. */
export interface ScramClientFirst {
  /** `n,,` or `n,a=authzid,` (or `y,...`): what the client-final `c=` attribute must carry, base64-encoded. */
  readonly gs2Header: string
  /** The authorization id of the gs2 header, unescaped, or null. */
  readonly authzid: string | null
  /** The user name, unescaped. */
  readonly username: string
  readonly nonce: string
  readonly extensions: Extensions
  /** True when the `tokenauth` extension is "true" (any case, as Java's Boolean.parseBoolean). */
  readonly tokenAuth: boolean
  /** client-first-message-bare, verbatim: the first part of the AuthMessage. */
  readonly bare: string
  /** The whole message. */
  readonly message: string
}

export interface ScramClientFirstInput {
  readonly username: string
  readonly nonce: string
  readonly authzid?: string
  readonly extensions?: ReadonlyMap<string, string> | Readonly<Record<string, string>>
}

function clientFirst (gs2Header: string, authzid: string | null, username: string, nonce: string, extensions: Extensions, bare: string): ScramClientFirst {
  const tokenAuth = extensions.get(SCRAM_TOKEN_AUTH_EXTENSION)?.toLowerCase() === 'true'
  return { gs2Header, authzid, username, nonce, extensions, tokenAuth, bare, message: gs2Header + bare }
}

export function parseClientFirst (message: string | Uint8Array): ScramClientFirst {
  const text = toText(message, 'client-first message')
  const parts = text.split(',')
  const flag = parts[0]
  if (flag !== 'n' && flag !== 'y') {
    throw new SaslError(flag?.startsWith('p=') === true
      ? 'SCRAM channel binding is not supported'
      : 'SCRAM client-first message must start with the gs2 flag "n" or "y"')
  }
  const authzidPart = parts[1]
  if (authzidPart === undefined) throw new SaslError('SCRAM client-first message has no gs2 header')
  const authzid = authzidPart === '' ? null : parseSaslName(attribute(authzidPart, 'a', 'client-first message'), 'authzid')
  if (parts[2]?.startsWith('m=') === true) throw new SaslError('SCRAM client-first message has the mandatory extension m=, which is not supported')
  const username = parseSaslName(attribute(parts[2], 'n', 'client-first message'), 'username')
  const nonce = attribute(parts[3], 'r', 'client-first message')
  checkNonce(nonce, 'client')
  const extensions = parseExtensions(parts.slice(4), 'client-first message')
  const gs2Header = `${flag},${authzidPart},`
  return clientFirst(gs2Header, authzid, username, nonce, extensions, text.slice(gs2Header.length))
}

export function formatClientFirst (input: ScramClientFirstInput): ScramClientFirst {
  checkName(input.username, 'username')
  const authzid = input.authzid === undefined || input.authzid === '' ? null : input.authzid
  if (authzid !== null) checkName(authzid, 'authzid')
  checkNonce(input.nonce, 'client')
  const extensions = formatExtensions(input.extensions, 'client-first message')
  const gs2Header = authzid === null ? 'n,,' : `n,a=${scramEscapeName(authzid)},`
  const bare = `n=${scramEscapeName(input.username)},r=${input.nonce}${extensionSuffix(extensions)}`
  return clientFirst(gs2Header, authzid, input.username, input.nonce, extensions, bare)
}

// ---- server-first-message ----

/** server-first-message: `r=nonce,s=salt,i=iterations[,extensions]`. */
export interface ScramServerFirst {
  /** The client nonce followed by the server's. */
  readonly nonce: string
  readonly salt: Buffer
  readonly iterations: number
  readonly extensions: Extensions
  readonly message: string
}

export interface ScramServerFirstInput {
  /** The whole nonce: the client nonce followed by the server's (see {@link scramNonce}). */
  readonly nonce: string
  readonly salt: Uint8Array
  readonly iterations: number
}

function checkIterations (iterations: number, what: string): void {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0x7fffffff) throw new SaslError(`SCRAM ${what} iteration count ${iterations} is invalid`)
}

export function parseServerFirst (message: string | Uint8Array): ScramServerFirst {
  const text = toText(message, 'server-first message')
  const parts = text.split(',')
  if (parts[0]?.startsWith('m=') === true) throw new SaslError('SCRAM server-first message has the mandatory extension m=, which is not supported')
  const nonce = attribute(parts[0], 'r', 'server-first message')
  checkNonce(nonce, 'server')
  const salt = decodeBase64(attribute(parts[1], 's', 'server-first message'), 'salt')
  const i = attribute(parts[2], 'i', 'server-first message')
  const iterations = POSITIVE_NUMBER.test(i) ? Number(i) : NaN
  checkIterations(iterations, 'server-first message')
  const extensions = parseExtensions(parts.slice(3), 'server-first message')
  return { nonce, salt, iterations, extensions, message: text }
}

/** Formats a server-first message; refuses fewer than {@link SCRAM_MIN_ITERATIONS} iterations, as Kafka's broker does. */
export function formatServerFirst (input: ScramServerFirstInput): ScramServerFirst {
  checkNonce(input.nonce, 'server')
  if (input.salt.length === 0) throw new SaslError('SCRAM salt is empty')
  checkIterations(input.iterations, 'server-first message')
  if (input.iterations < SCRAM_MIN_ITERATIONS) throw new SaslError(`SCRAM iteration count ${input.iterations} is below the minimum ${SCRAM_MIN_ITERATIONS}`)
  const salt = Buffer.from(input.salt)
  const message = `r=${input.nonce},s=${salt.toString('base64')},i=${input.iterations}`
  return { nonce: input.nonce, salt, iterations: input.iterations, extensions: new Map(), message }
}

// ---- client-final-message ----

/** client-final-message: `c=channel-binding,r=nonce[,extensions],p=proof`. */
export interface ScramClientFinal {
  /** The decoded `c=` attribute: the gs2 header of the client-first message. */
  readonly channelBinding: Buffer
  readonly nonce: string
  readonly extensions: Extensions
  readonly proof: Buffer
  /** client-final-message-without-proof, verbatim: the last part of the AuthMessage. */
  readonly withoutProof: string
  readonly message: string
}

export function parseClientFinal (message: string | Uint8Array): ScramClientFinal {
  const text = toText(message, 'client-final message')
  const parts = text.split(',')
  const channelBinding = decodeBase64(attribute(parts[0], 'c', 'client-final message'), 'channel binding')
  const nonce = attribute(parts[1], 'r', 'client-final message')
  checkNonce(nonce, 'client-final')
  if (parts.length < 3) throw new SaslError('SCRAM client-final message is missing attribute p=')
  const proofPart = parts[parts.length - 1]
  const proof = decodeBase64(attribute(proofPart, 'p', 'client-final message'), 'client proof')
  const extensions = parseExtensions(parts.slice(2, -1), 'client-final message')
  return { channelBinding, nonce, extensions, proof, withoutProof: text.slice(0, text.length - proofPart!.length - 1), message: text }
}

/** The client-final message without its proof, as the AuthMessage needs it before the proof exists. */
export function formatClientFinalWithoutProof (gs2Header: string, nonce: string): string {
  checkNonce(nonce, 'client-final')
  return `c=${Buffer.from(gs2Header, 'utf8').toString('base64')},r=${nonce}`
}

export function formatClientFinal (gs2Header: string, nonce: string, proof: Uint8Array): ScramClientFinal {
  const withoutProof = formatClientFinalWithoutProof(gs2Header, nonce)
  if (proof.length === 0) throw new SaslError('SCRAM client proof is empty')
  const p = Buffer.from(proof)
  return {
    channelBinding: Buffer.from(gs2Header, 'utf8'),
    nonce,
    extensions: new Map(),
    proof: p,
    withoutProof,
    message: `${withoutProof},p=${p.toString('base64')}`
  }
}

// ---- server-final-message ----

/** server-final-message: `v=signature` on success or `e=error` on failure, either maybe with extensions. */
export type ScramServerFinal =
  | { readonly serverSignature: Buffer, readonly error: null, readonly message: string }
  | { readonly serverSignature: null, readonly error: string, readonly message: string }

const SERVER_ERROR_VALUE = /^[^\0,=]+$/

export function parseServerFinal (message: string | Uint8Array): ScramServerFinal {
  const text = toText(message, 'server-final message')
  const parts = text.split(',')
  const first = parts[0] ?? ''
  parseExtensions(parts.slice(1), 'server-final message')
  if (first.startsWith('e=')) {
    const error = first.slice(2)
    if (!SERVER_ERROR_VALUE.test(error)) throw new SaslError('SCRAM server-final error value is empty or invalid')
    return { serverSignature: null, error, message: text }
  }
  const serverSignature = decodeBase64(attribute(first, 'v', 'server-final message'), 'server signature')
  return { serverSignature, error: null, message: text }
}

export function formatServerFinal (result: { readonly serverSignature: Uint8Array } | { readonly error: string }): ScramServerFinal {
  if ('error' in result) {
    if (!SERVER_ERROR_VALUE.test(result.error)) throw new SaslError('SCRAM server-final error value is empty or has NUL, "," or "="')
    return { serverSignature: null, error: result.error, message: `e=${result.error}` }
  }
  if (result.serverSignature.length === 0) throw new SaslError('SCRAM server signature is empty')
  const serverSignature = Buffer.from(result.serverSignature)
  return { serverSignature, error: null, message: `v=${serverSignature.toString('base64')}` }
}

// ---- crypto (RFC 5802 §3) ----

/** A nonce of `bytes` random bytes in base64url: printable and comma-free, as SCRAM requires. */
export function scramNonce (bytes = 24): string {
  return randomBytes(bytes).toString('base64url')
}

/** SaltedPassword := Hi(password, salt, i), i.e. PBKDF2 with HMAC-H and one hash-length block. */
export function scramSaltedPassword (mechanism: ScramMechanismName, password: string | Uint8Array, salt: Uint8Array, iterations: number): Buffer {
  const { hash, size } = algorithm(mechanism)
  checkIterations(iterations, 'Hi()')
  if (typeof password === 'string') checkWellFormed(password, 'SCRAM password')
  return pbkdf2Sync(typeof password === 'string' ? Buffer.from(password, 'utf8') : password, salt, iterations, size, hash)
}

function hmac (mechanism: ScramMechanismName, key: Uint8Array, data: string): Buffer {
  return createHmac(algorithm(mechanism).hash, key).update(data, 'utf8').digest()
}

/** ClientKey := HMAC(SaltedPassword, "Client Key") */
export function scramClientKey (mechanism: ScramMechanismName, saltedPassword: Uint8Array): Buffer {
  return hmac(mechanism, saltedPassword, 'Client Key')
}

/** ServerKey := HMAC(SaltedPassword, "Server Key") */
export function scramServerKey (mechanism: ScramMechanismName, saltedPassword: Uint8Array): Buffer {
  return hmac(mechanism, saltedPassword, 'Server Key')
}

/** StoredKey := H(ClientKey) */
export function scramStoredKey (mechanism: ScramMechanismName, clientKey: Uint8Array): Buffer {
  return createHash(algorithm(mechanism).hash).update(clientKey).digest()
}

/** AuthMessage := client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof */
export function scramAuthMessage (clientFirst: ScramClientFirst, serverFirst: ScramServerFirst, clientFinalWithoutProof: string): string {
  return `${clientFirst.bare},${serverFirst.message},${clientFinalWithoutProof}`
}

/** ClientSignature := HMAC(StoredKey, AuthMessage) */
export function scramClientSignature (mechanism: ScramMechanismName, storedKey: Uint8Array, authMessage: string): Buffer {
  return hmac(mechanism, storedKey, authMessage)
}

/** ServerSignature := HMAC(ServerKey, AuthMessage) */
export function scramServerSignature (mechanism: ScramMechanismName, serverKey: Uint8Array, authMessage: string): Buffer {
  return hmac(mechanism, serverKey, authMessage)
}

/** ClientProof := ClientKey XOR ClientSignature (and ClientKey = ClientProof XOR ClientSignature). */
export function scramXor (a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new SaslError(`SCRAM values to XOR differ in length (${a.length} and ${b.length})`)
  const out = Buffer.allocUnsafe(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** Constant-time equality; values of different lengths are unequal (crypto.timingSafeEqual throws on those). */
export function scramEqual (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** What a broker stores per user and mechanism (never the password). */
export interface ScramCredential {
  readonly mechanism: ScramMechanismName
  readonly salt: Buffer
  readonly iterations: number
  readonly storedKey: Buffer
  readonly serverKey: Buffer
}

export function scramCredential (mechanism: ScramMechanismName, password: string | Uint8Array, salt: Uint8Array, iterations: number): ScramCredential {
  const salted = scramSaltedPassword(mechanism, password, salt, iterations)
  return {
    mechanism,
    salt: Buffer.from(salt),
    iterations,
    storedKey: scramStoredKey(mechanism, scramClientKey(mechanism, salted)),
    serverKey: scramServerKey(mechanism, salted)
  }
}

// ---- the two computing steps of an exchange ----

export interface ScramClientFinalStep {
  readonly clientFinal: ScramClientFinal
  /** The signature the server-final message must carry; check it with {@link scramVerifyServerFinal}. */
  readonly expectedServerSignature: Buffer
}

/**
 * Client side: checks the server-first message against the client-first one (the nonce must extend
 * the client's, at least `minIterations`), then computes the client-final message.
 */
export function scramClientFinalStep (options: {
  readonly mechanism: ScramMechanismName
  readonly password: string | Uint8Array
  readonly clientFirst: ScramClientFirst
  readonly serverFirst: ScramServerFirst
  readonly minIterations?: number
}): ScramClientFinalStep {
  const { mechanism, clientFirst, serverFirst } = options
  const minIterations = options.minIterations ?? SCRAM_MIN_ITERATIONS
  if (!serverFirst.nonce.startsWith(clientFirst.nonce) || serverFirst.nonce.length === clientFirst.nonce.length) {
    throw new SaslError('Invalid SCRAM server nonce: it must be the client nonce followed by the server\'s')
  }
  if (serverFirst.iterations < minIterations) {
    throw new SaslError(`SCRAM iteration count ${serverFirst.iterations} requested by the server is below the minimum ${minIterations}`)
  }
  const salted = scramSaltedPassword(mechanism, options.password, serverFirst.salt, serverFirst.iterations)
  const clientKey = scramClientKey(mechanism, salted)
  const withoutProof = formatClientFinalWithoutProof(clientFirst.gs2Header, serverFirst.nonce)
  const authMessage = scramAuthMessage(clientFirst, serverFirst, withoutProof)
  const clientSignature = scramClientSignature(mechanism, scramStoredKey(mechanism, clientKey), authMessage)
  return {
    clientFinal: formatClientFinal(clientFirst.gs2Header, serverFirst.nonce, scramXor(clientKey, clientSignature)),
    expectedServerSignature: scramServerSignature(mechanism, scramServerKey(mechanism, salted), authMessage)
  }
}

/** Client side: throws unless the server-final message carries the expected signature. */
export function scramVerifyServerFinal (serverFinal: ScramServerFinal, expectedServerSignature: Uint8Array): void {
  if (serverFinal.error !== null) throw new SaslError(`SCRAM authentication failed with server error: ${serverFinal.error}`)
  if (!scramEqual(serverFinal.serverSignature, expectedServerSignature)) throw new SaslError('Invalid SCRAM server signature')
}

/**
 * Broker side: checks the client-final message (same nonce as server-first, channel binding equal to
 * the client-first gs2 header, a proof matching the stored key, compared in constant time) and
 * returns the server-final message. Throws SaslError when any check fails.
 */
export function scramServerFinalStep (options: {
  readonly credential: ScramCredential
  readonly clientFirst: ScramClientFirst
  readonly serverFirst: ScramServerFirst
  readonly clientFinal: ScramClientFinal
}): ScramServerFinal {
  const { credential, clientFirst, serverFirst, clientFinal } = options
  const mechanism = credential.mechanism
  if (clientFinal.nonce !== serverFirst.nonce) throw new SaslError('Invalid SCRAM client nonce in the client-final message')
  if (!scramEqual(clientFinal.channelBinding, Buffer.from(clientFirst.gs2Header, 'utf8'))) {
    throw new SaslError('SCRAM channel binding does not match the client-first gs2 header')
  }
  if (clientFinal.proof.length !== algorithm(mechanism).size) throw new SaslError('Invalid SCRAM client proof')
  const authMessage = scramAuthMessage(clientFirst, serverFirst, clientFinal.withoutProof)
  const clientSignature = scramClientSignature(mechanism, credential.storedKey, authMessage)
  const clientKey = scramXor(clientFinal.proof, clientSignature)
  if (!scramEqual(scramStoredKey(mechanism, clientKey), credential.storedKey)) throw new SaslError('Invalid SCRAM client proof')
  return formatServerFinal({ serverSignature: scramServerSignature(mechanism, credential.serverKey, authMessage) })
}
