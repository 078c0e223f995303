import { SaslError } from './sasl-error.ts'
import { checkWellFormed, decodeUtf8 } from './utf8.ts'

/** The SASL mechanism name of RFC 4616. */
export const PLAIN_MECHANISM = 'PLAIN'

/** A parsed PLAIN message. `authzid` is '' when the client sent none. */
export interface PlainCredentials {
  authzid: string
  username: string
  password: string
}

export interface PlainCredentialsInput {
  readonly authzid?: string
  readonly username: string
  readonly password: string
}

/**
 * Parses a PLAIN message: `[authzid] NUL authcid NUL passwd` (RFC 4616 §2), UTF-8.
 *
 * Exactly two NULs are required: Kafka's PlainSaslServer silently drops anything after a third one,
 * but RFC 4616 allows no NUL inside a field. Username and password must be non-empty, as Kafka checks.
 * Comparing authzid with the username is left to the caller (Kafka rejects a different one).
 */
export function parsePlain (message: Uint8Array): PlainCredentials {
  const first = message.indexOf(0)
  const second = first === -1 ? -1 : message.indexOf(0, first + 1)
  if (second === -1) throw new SaslError('Invalid SASL/PLAIN message: expected authzid NUL username NUL password')
  if (message.indexOf(0, second + 1) !== -1) throw new SaslError('Invalid SASL/PLAIN message: more than two NUL separators')
  const authzid = decodeUtf8(message.subarray(0, first), 'SASL/PLAIN authzid')
  const username = decodeUtf8(message.subarray(first + 1, second), 'SASL/PLAIN username')
  const password = decodeUtf8(message.subarray(second + 1), 'SASL/PLAIN password')
  if (username === '') throw new SaslError('Invalid SASL/PLAIN message: username not specified')
  if (password === '') throw new SaslError('Invalid SASL/PLAIN message: password not specified')
  return { authzid, username, password }
}

/** Formats a PLAIN message; fields must be non-empty (authzid may be omitted) and free of NUL. */
export function formatPlain (credentials: PlainCredentialsInput): Buffer {
  const authzid = credentials.authzid ?? ''
  const fields: Array<[string, string]> = [['authzid', authzid], ['username', credentials.username], ['password', credentials.password]]
  for (const [what, value] of fields) {
    if (value.includes('\0')) throw new SaslError(`SASL/PLAIN ${what} contains NUL`)
    checkWellFormed(value, `SASL/PLAIN ${what}`)
  }
  if (credentials.username === '') throw new SaslError('SASL/PLAIN username is empty')
  if (credentials.password === '') throw new SaslError('SASL/PLAIN password is empty')
  return Buffer.from(`${authzid}\0${credentials.username}\0${credentials.password}`, 'utf8')
}
