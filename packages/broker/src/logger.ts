/**
 * Structured, levelled logging: one line per event that matters, as `logfmt`-style
 * `key=value` pairs after a timestamp, level and message, so both people and tools can read it.
 *
 *     2026-11-23T10:00:00.000Z INFO  Listening listener=PLAINTEXT://127.0.0.1:9092
 */
export const LogLevel = { error: 0, warn: 1, info: 2, debug: 3 } as const
export type LogLevelName = keyof typeof LogLevel

export type LogFields = Record<string, unknown>

export interface Logger {
  readonly level: LogLevelName
  error (message: string, fields?: LogFields): void
  warn (message: string, fields?: LogFields): void
  info (message: string, fields?: LogFields): void
  debug (message: string, fields?: LogFields): void
  /** A logger adding `fields` to every line. */
  child (fields: LogFields): Logger
  enabled (level: LogLevelName): boolean
}

function formatValue (value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message)
  if (typeof value === 'string') return /^[\w.:/@+-]+$/.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'bigint') return value.toString()
  if (value === undefined) return 'undefined'
  return JSON.stringify(value) ?? typeof value
}

export function formatLine (level: LogLevelName, message: string, fields: LogFields, now = new Date()): string {
  let line = `${now.toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`
  }
  return line
}

class LineLogger implements Logger {
  readonly level: LogLevelName
  readonly #write: (line: string) => void
  readonly #fields: LogFields

  constructor (level: LogLevelName, write: (line: string) => void, fields: LogFields) {
    this.level = level
    this.#write = write
    this.#fields = fields
  }

  enabled (level: LogLevelName): boolean {
    return LogLevel[level] <= LogLevel[this.level]
  }

  #log (level: LogLevelName, message: string, fields?: LogFields): void {
    if (!this.enabled(level)) return
    this.#write(formatLine(level, message, fields === undefined ? this.#fields : { ...this.#fields, ...fields }))
  }

  error (message: string, fields?: LogFields): void { this.#log('error', message, fields) }
  warn (message: string, fields?: LogFields): void { this.#log('warn', message, fields) }
  info (message: string, fields?: LogFields): void { this.#log('info', message, fields) }
  debug (message: string, fields?: LogFields): void { this.#log('debug', message, fields) }

  child (fields: LogFields): Logger {
    return new LineLogger(this.level, this.#write, { ...this.#fields, ...fields })
  }
}

export function isLogLevel (value: string): value is LogLevelName {
  return Object.hasOwn(LogLevel, value)
}

/** A logger writing lines to `write` (default: stderr). */
export function createLogger (level: LogLevelName = 'info', write: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  return new LineLogger(level, write, {})
}

/** A logger that drops everything (the in-process test broker's default). */
export const silentLogger: Logger = createLogger('error', () => {})
