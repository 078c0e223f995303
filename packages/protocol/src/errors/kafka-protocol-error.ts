import { errorByCode } from './error-codes.ts'

const kKafkaProtocolError = Symbol.for('samsa.protocol.KafkaProtocolError')

/**
 * A Kafka error code carried as an exception, for code that turns a response's ErrorCode (and
 * ErrorMessage, where the API has one) into a throw. The brand makes `instanceof` work across
 * copies of this package.
 */
export class KafkaProtocolError extends Error {
  /** Kafka's numeric error code. */
  readonly code: number
  /** Kafka's name for the code, e.g. `NOT_LEADER_OR_FOLLOWER`. */
  readonly errorName: string
  readonly retriable: boolean
  /** The message the server sent with the code, or null if it sent none. */
  readonly errorMessage: string | null

  constructor (code: number, errorMessage: string | null = null, options?: ErrorOptions) {
    const info = errorByCode(code)
    // An empty server message says nothing, so the default message is shown instead.
    const text = errorMessage !== null && errorMessage !== '' ? errorMessage : info.message
    super(`${info.name} (${code}): ${text}`, options)
    this.name = 'KafkaProtocolError'
    this.code = code
    this.errorName = info.name
    this.retriable = info.retriable
    this.errorMessage = errorMessage
  }

  get [kKafkaProtocolError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kKafkaProtocolError] === true
  }
}
