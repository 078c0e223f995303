import { ProtocolDecodeError } from '../primitives/errors.ts'

const kDecompressionLimitError = Symbol.for('samsa.protocol.DecompressionLimitError')

/**
 * Compressed data that would expand beyond the caller's limit (a zip bomb, or simply a batch
 * larger than the broker accepts). A {@link ProtocolDecodeError}, so callers that catch the
 * one decode error type still catch it; the distinct type lets them log it differently.
 */
export class DecompressionLimitError extends ProtocolDecodeError {
  /** The limit, in decompressed bytes, that was exceeded. */
  readonly limit: number
  readonly codec: string

  constructor (codec: string, limit: number) {
    super(`${codec} data decompresses to more than the limit of ${limit} bytes`, 0)
    this.name = 'DecompressionLimitError'
    this.codec = codec
    this.limit = limit
  }

  get [kDecompressionLimitError] (): true {
    return true
  }

  // ProtocolDecodeError's static hasInstance is inherited and would match every decode error.
  static override [Symbol.hasInstance] (value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kDecompressionLimitError] === true
  }
}

/** Wraps an exception from a codec (native or zlib) on corrupt input into the typed error. */
export function corruptCompressedData (codec: string, cause: unknown): ProtocolDecodeError {
  if (cause instanceof ProtocolDecodeError) return cause
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new ProtocolDecodeError(`Corrupt ${codec} data: ${detail}`, 0, { cause })
}
