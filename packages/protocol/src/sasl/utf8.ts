import { SaslError } from './sasl-error.ts'

// fatal: invalid UTF-8 is an error instead of U+FFFD, so two different byte strings never read as one name.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Decodes SASL bytes as UTF-8, rejecting invalid sequences. */
export function decodeUtf8 (bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes)
  } catch (err) {
    throw new SaslError(`${what} is not valid UTF-8`, { cause: err })
  }
}

/** Rejects strings with unpaired surrogates, which UTF-8 encoding would silently turn into U+FFFD. */
export function checkWellFormed (value: string, what: string): void {
  if (/\p{Cs}/u.test(value)) throw new SaslError(`${what} contains an unpaired surrogate`)
}
