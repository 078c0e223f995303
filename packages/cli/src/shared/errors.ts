/**
 * The CLI's errors and how each kind of failure is reported. Exit codes scripts can rely on:
 * 0 success, 1 a runtime or Kafka error, 2 bad usage.
 */
import {
  KafkaClientError, KafkaInvalidArgumentError, KafkaNetworkError, KafkaPartialFailureError, KafkaResponseError, KafkaTimeoutError
} from '@samsa/client'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** Bad arguments: reported with the command's synopsis, exit 2. */
export class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** A runtime failure with a message meant for the user, exit 1. */
export class CliError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CliError'
  }
}

/** No broker of the bootstrap list could be reached. */
export class UnreachableError extends CliError {
  constructor (bootstrap: string, reason: string, options?: ErrorOptions) {
    super(`cannot reach the cluster at ${bootstrap} (${reason})`, options)
    this.name = 'UnreachableError'
  }
}

const SOCKET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host',
  EPIPE: 'connection closed'
}

/** A short reason for a network failure: "connection refused", "timed out"... */
export function networkReason (error: unknown): string {
  let e: unknown = error
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (typeof code === 'string' && SOCKET_REASONS[code] !== undefined) return SOCKET_REASONS[code]
    if (e instanceof KafkaTimeoutError || /timed out/.test(e.message)) return 'timed out'
    e = e.cause
  }
  if (error instanceof Error && /closed by the broker/.test(error.message)) return 'connection closed by the broker'
  return error instanceof Error ? error.message : String(error)
}

/** A Kafka error code's text without Kafka's trailing period. */
function kafkaText (error: KafkaResponseError): string {
  const text = error.errorMessage !== null && error.errorMessage !== '' ? error.errorMessage : (error.cause as Error | undefined)?.message.replace(/^[A-Z_]+ \(-?\d+\): /, '') ?? ''
  return text.replace(/\.$/, '')
}

function where (error: KafkaResponseError): string {
  if (error.topic !== null) return error.partition === null ? `topic '${error.topic}': ` : `partition ${error.topic}-${error.partition}: `
  if (error.resource !== null) return `'${error.resource}': `
  return ''
}

/** "UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition", with where it applies. */
export function describeKafkaError (error: unknown): string {
  if (error instanceof KafkaResponseError) return `${where(error)}${error.errorName}: ${kafkaText(error)}`
  if (error instanceof Error) return error.message.replace(/\.$/, '')
  return String(error)
}

/** What a failure path of a partial failure names: `topics/x/partitions/0` → `partition x-0`. */
function describePath (path: string): string {
  const parts = path.split('/')
  if (parts[0] === 'topics' && parts.length === 4) return `partition ${parts[1]}-${parts[3]}`
  if (parts[0] === 'topics') return `topic '${parts[1]}'`
  if (parts[0] === 'groups') return `group '${parts[1]}'`
  if (parts[0] === 'transactions') return `transactional id '${parts[1]}'`
  if (parts[0] === 'brokers') return `broker ${parts[1]}`
  if (parts[0] === 'configs') return `config resource '${parts.slice(2).join('/')}'`
  return path
}

/** An error's name and message without where it applies (for tables that say where). */
export function errorText (error: unknown): string {
  return error instanceof KafkaResponseError ? `${error.errorName}: ${kafkaText(error)}` : describeKafkaError(error)
}

function failureLine (path: string, error: unknown): string {
  return `${describePath(path)}: ${errorText(error)}`
}

export interface ReportContext {
  /** 'samsa topic create'. */
  command: string
  bootstrap: string
  /** The synopsis printed after a usage error. */
  usage: string
}

/** Writes a failure to stderr and returns its exit code. */
export function reportError (error: unknown, io: { stderr (text: string): void }, context: ReportContext): number {
  if (error instanceof UsageError || error instanceof KafkaInvalidArgumentError) {
    io.stderr(`${context.command}: ${error.message}\n${context.usage}Run '${context.command} --help' for options and examples\n`)
    return EXIT_USAGE
  }
  if (error instanceof CliError) {
    io.stderr(`samsa: ${error.message}\n`)
    return EXIT_FAILURE
  }
  if (error instanceof KafkaPartialFailureError) {
    for (const f of error.failures) io.stderr(`samsa: ${failureLine(f.path, f.error)}\n`)
    return EXIT_FAILURE
  }
  if (error instanceof KafkaNetworkError || error instanceof KafkaTimeoutError) {
    const broker = error instanceof KafkaNetworkError ? error.broker : null
    const reason = networkReason(error)
    io.stderr(broker === null || context.bootstrap.split(',').includes(broker)
      ? `samsa: cannot reach the cluster at ${context.bootstrap} (${reason})\n`
      : `samsa: cannot reach broker ${broker} (${reason})\n`)
    return EXIT_FAILURE
  }
  if (error instanceof KafkaClientError) {
    io.stderr(`samsa: ${describeKafkaError(error)}\n`)
    return EXIT_FAILURE
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
  io.stderr(`samsa: internal error: ${text}\n`)
  return EXIT_FAILURE
}
