/**
 * The one exception the decoders throw. Every malformed input (truncated, oversized,
 * garbage, lying length fields, unknown versions) ends here, so callers can catch a single
 * type and answer with Kafka's error code or close the connection.
 */
const kProtocolDecodeError = Symbol.for('samsa.protocol.ProtocolDecodeError')

export class ProtocolDecodeError extends Error {
  readonly code = 'SAMSA_PROTOCOL_DECODE'
  /** Byte offset in the input where decoding failed. */
  readonly offset: number

  constructor (message: string, offset: number, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ProtocolDecodeError'
    this.offset = offset
  }

  get [kProtocolDecodeError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kProtocolDecodeError] === true
  }
}

/** Thrown when a message cannot be encoded (a value outside its wire type, a version the API lacks). */
export class ProtocolEncodeError extends Error {
  readonly code = 'SAMSA_PROTOCOL_ENCODE'

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ProtocolEncodeError'
  }
}
