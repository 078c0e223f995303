/**
 * The client's one error catalogue. Every error the client throws or rejects with is a
 * {@link KafkaClientError} with a stable `code` (`SAMSA_CLIENT_*`, never reused) and a
 * `retriable` flag; a broker's error code arrives as {@link KafkaResponseError}, which keeps
 * Kafka's `errorName` and `errorCode`. Each class has a `Symbol.for` brand so that
 * `instanceof` works across duplicate installs of this package (undici's pattern).
 */
import { KafkaProtocolError, errorByCode } from '@samsa/protocol'

/** Every code a {@link KafkaClientError} can carry. */
export const ClientErrorCode = {
  NETWORK: 'SAMSA_CLIENT_NETWORK',
  TIMEOUT: 'SAMSA_CLIENT_TIMEOUT',
  CLOSED: 'SAMSA_CLIENT_CLOSED',
  INVALID_ARGUMENT: 'SAMSA_CLIENT_INVALID_ARGUMENT',
  PROTOCOL: 'SAMSA_CLIENT_PROTOCOL',
  UNSUPPORTED_VERSION: 'SAMSA_CLIENT_UNSUPPORTED_VERSION',
  CORRUPT_RESPONSE: 'SAMSA_CLIENT_CORRUPT_RESPONSE',
  BUFFER_EXHAUSTED: 'SAMSA_CLIENT_BUFFER_EXHAUSTED',
  RECORD_TOO_LARGE: 'SAMSA_CLIENT_RECORD_TOO_LARGE',
  ILLEGAL_STATE: 'SAMSA_CLIENT_ILLEGAL_STATE',
  PARTIAL_FAILURE: 'SAMSA_CLIENT_PARTIAL_FAILURE'
} as const
export type ClientErrorCode = typeof ClientErrorCode[keyof typeof ClientErrorCode]

const kClientError = Symbol.for('samsa.client.KafkaClientError')

function branded (value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
}

/** Options shared by the client's error constructors. */
export interface KafkaClientErrorOptions extends ErrorOptions {
  retriable?: boolean
}

/** The base of every client error. */
export class KafkaClientError extends Error {
  /** A stable, prefixed code: `SAMSA_CLIENT_NETWORK`, `SAMSA_CLIENT_PROTOCOL`, ... */
  readonly code: ClientErrorCode
  /** True when retrying the same operation may succeed. */
  readonly retriable: boolean

  constructor (code: ClientErrorCode, message: string, options: KafkaClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'KafkaClientError'
    this.code = code
    this.retriable = options.retriable ?? false
  }

  get [kClientError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kClientError)
  }
}

const kNetworkError = Symbol.for('samsa.client.KafkaNetworkError')

/** A connection could not be made, broke, or was closed by the broker. Retriable. */
export class KafkaNetworkError extends KafkaClientError {
  /** `host:port` of the broker, when known. */
  readonly broker: string | null

  constructor (message: string, options: KafkaClientErrorOptions & { broker?: string | null } = {}) {
    super(ClientErrorCode.NETWORK, message, { retriable: true, ...options })
    this.name = 'KafkaNetworkError'
    this.broker = options.broker ?? null
  }

  get [kNetworkError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kNetworkError)
  }
}

const kTimeoutError = Symbol.for('samsa.client.KafkaTimeoutError')

/** A request, a connection attempt or a blocking call ran out of time. Retriable. */
export class KafkaTimeoutError extends KafkaClientError {
  constructor (message: string, options: KafkaClientErrorOptions = {}) {
    super(ClientErrorCode.TIMEOUT, message, { retriable: true, ...options })
    this.name = 'KafkaTimeoutError'
  }

  get [kTimeoutError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kTimeoutError)
  }
}

const kClosedError = Symbol.for('samsa.client.KafkaClosedError')

/** The client (or the connection) was closed by its owner. */
export class KafkaClosedError extends KafkaClientError {
  constructor (message: string, options: KafkaClientErrorOptions = {}) {
    super(ClientErrorCode.CLOSED, message, options)
    this.name = 'KafkaClosedError'
  }

  get [kClosedError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kClosedError)
  }
}

const kInvalidArgumentError = Symbol.for('samsa.client.KafkaInvalidArgumentError')

/** An option or argument is invalid; thrown synchronously where possible. */
export class KafkaInvalidArgumentError extends KafkaClientError {
  constructor (message: string, options: KafkaClientErrorOptions = {}) {
    super(ClientErrorCode.INVALID_ARGUMENT, message, options)
    this.name = 'KafkaInvalidArgumentError'
  }

  get [kInvalidArgumentError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kInvalidArgumentError)
  }
}

const kResponseError = Symbol.for('samsa.client.KafkaResponseError')

/** Where in a response an error code was found. */
export interface ResponseErrorLocation {
  /** The API that answered, e.g. `Produce`. */
  api?: string | undefined
  topic?: string | undefined
  partition?: number | undefined
  /** A group id, transactional id, config resource name... */
  resource?: string | undefined
}

/**
 * A broker answered with a Kafka error code. `errorName`, `errorCode` and `retriable` are
 * Kafka's (`Errors.java`); the underlying {@link KafkaProtocolError} is the `cause`.
 */
export class KafkaResponseError extends KafkaClientError {
  /** Kafka's name for the code, e.g. `NOT_LEADER_OR_FOLLOWER`. */
  readonly errorName: string
  /** Kafka's numeric error code. */
  readonly errorCode: number
  /** The message the broker sent with the code, or null. */
  readonly errorMessage: string | null
  readonly api: string | null
  readonly topic: string | null
  readonly partition: number | null
  readonly resource: string | null

  constructor (errorCode: number, errorMessage: string | null = null, location: ResponseErrorLocation = {}) {
    const cause = new KafkaProtocolError(errorCode, errorMessage)
    const where = location.topic === undefined
      ? (location.resource === undefined ? '' : ` for '${location.resource}'`)
      : location.partition === undefined ? ` for topic '${location.topic}'` : ` for '${location.topic}-${location.partition}'`
    const api = location.api === undefined ? '' : `${location.api} failed${where}: `
    super(ClientErrorCode.PROTOCOL, `${api}${cause.message}`, { cause, retriable: cause.retriable })
    this.name = 'KafkaResponseError'
    this.errorName = cause.errorName
    this.errorCode = errorCode
    this.errorMessage = errorMessage
    this.api = location.api ?? null
    this.topic = location.topic ?? null
    this.partition = location.partition ?? null
    this.resource = location.resource ?? null
  }

  get [kResponseError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kResponseError)
  }
}

const kUnsupportedVersionError = Symbol.for('samsa.client.KafkaUnsupportedVersionError')

/** The broker does not support the API, or no version both sides support exists. */
export class KafkaUnsupportedVersionError extends KafkaClientError {
  readonly apiKey: number
  readonly apiName: string

  constructor (apiName: string, apiKey: number, message: string) {
    super(ClientErrorCode.UNSUPPORTED_VERSION, message)
    this.name = 'KafkaUnsupportedVersionError'
    this.apiKey = apiKey
    this.apiName = apiName
  }

  get [kUnsupportedVersionError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kUnsupportedVersionError)
  }
}

const kCorruptResponseError = Symbol.for('samsa.client.KafkaCorruptResponseError')

/** A response could not be decoded, or did not match its request. The connection is closed. */
export class KafkaCorruptResponseError extends KafkaClientError {
  constructor (message: string, options: KafkaClientErrorOptions = {}) {
    // Retriable: a new connection and a new request may well succeed.
    super(ClientErrorCode.CORRUPT_RESPONSE, message, { retriable: true, ...options })
    this.name = 'KafkaCorruptResponseError'
  }

  get [kCorruptResponseError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kCorruptResponseError)
  }
}

const kBufferExhaustedError = Symbol.for('samsa.client.KafkaBufferExhaustedError')

/** The producer's buffer stayed full for `maxBlockMs` (Kafka's BufferExhaustedException). */
export class KafkaBufferExhaustedError extends KafkaClientError {
  constructor (message: string) {
    super(ClientErrorCode.BUFFER_EXHAUSTED, message, { retriable: true })
    this.name = 'KafkaBufferExhaustedError'
  }

  get [kBufferExhaustedError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kBufferExhaustedError)
  }
}

const kRecordTooLargeError = Symbol.for('samsa.client.KafkaRecordTooLargeError')

/** A record is larger than `maxRequestSize` or `bufferMemory` (Kafka's RecordTooLargeException). */
export class KafkaRecordTooLargeError extends KafkaClientError {
  constructor (message: string) {
    super(ClientErrorCode.RECORD_TOO_LARGE, message)
    this.name = 'KafkaRecordTooLargeError'
  }

  get [kRecordTooLargeError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kRecordTooLargeError)
  }
}

const kIllegalStateError = Symbol.for('samsa.client.KafkaIllegalStateError')

/** A call that the client's current state does not allow (e.g. commitTransaction without begin). */
export class KafkaIllegalStateError extends KafkaClientError {
  constructor (message: string, options: KafkaClientErrorOptions = {}) {
    super(ClientErrorCode.ILLEGAL_STATE, message, options)
    this.name = 'KafkaIllegalStateError'
  }

  get [kIllegalStateError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kIllegalStateError)
  }
}

const kPartialFailureError = Symbol.for('samsa.client.KafkaPartialFailureError')

/** One failed item of a multi-item operation, with where it failed. */
export interface ItemFailure {
  /** What failed: `topics/<name>`, `topics/<name>/partitions/<n>`, `groups/<id>`, ... */
  path: string
  error: KafkaClientError
}

/**
 * Some items of a multi-item operation (several topics, partitions, groups or records) failed.
 * `result` keeps what succeeded, in the shape the operation returns; `failures` says which
 * items failed and why; `errors` (from AggregateError) lists the same errors.
 */
export class KafkaPartialFailureError<T = unknown> extends AggregateError {
  readonly code = ClientErrorCode.PARTIAL_FAILURE
  /** True only when every failure is retriable. */
  readonly retriable: boolean
  readonly failures: readonly ItemFailure[]
  readonly result: T

  constructor (message: string, details: { failures: readonly ItemFailure[], result: T }) {
    const { failures, result } = details
    super(failures.map((f) => f.error), `${message}: ${failures.map((f) => `${f.path}: ${f.error.message}`).slice(0, 5).join('; ')}${failures.length > 5 ? ` (and ${failures.length - 5} more)` : ''}`)
    this.name = 'KafkaPartialFailureError'
    this.failures = failures
    this.result = result
    this.retriable = failures.every((f) => f.error.retriable)
  }

  get [kClientError] (): true {
    return true
  }

  get [kPartialFailureError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return branded(value, kPartialFailureError)
  }
}

/** True when `error` is a client error with `retriable` set (network, timeout, retriable Kafka codes). */
export function isRetriable (error: unknown): boolean {
  if (error instanceof KafkaClientError) return error.retriable
  if (error instanceof KafkaPartialFailureError) return error.retriable
  if (error instanceof KafkaProtocolError) return error.retriable
  return false
}

/** Kafka's name for a numeric error code (`6` → `NOT_LEADER_OR_FOLLOWER`). */
export function errorName (errorCode: number): string {
  return errorByCode(errorCode).name
}

/** A thrown value as an Error (for promise rejections). */
export function toError (value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value))
}

/** How an invalid option value is quoted in messages. */
export function describeValue (value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}
