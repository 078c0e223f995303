const kSaslError = Symbol.for('samsa.protocol.SaslError')

/**
 * A SASL message that is malformed or fails a check (PLAIN or SCRAM). Messages name the field at
 * fault but never repeat a password, so they may be logged; what to tell the peer is the caller's choice.
 */
export class SaslError extends Error {
  readonly code = 'SAMSA_SASL'

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'SaslError'
  }

  get [kSaslError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kSaslError] === true
  }
}
