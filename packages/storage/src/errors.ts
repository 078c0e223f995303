/**
 * The storage engine's exceptions. Each carries a stable `code` so the broker can map it to
 * Kafka's error (KAFKA_STORAGE_ERROR, OFFSET_OUT_OF_RANGE, CORRUPT_MESSAGE, ...) without
 * parsing messages.
 */
const kStorageError = Symbol.for('samsa.storage.StorageError')

export const StorageErrorCode = {
  /** The disk is full (ENOSPC, EDQUOT). */
  NO_SPACE: 'SAMSA_STORAGE_NO_SPACE',
  /** An I/O error from the device (EIO and the like). */
  IO: 'SAMSA_STORAGE_IO',
  /** A file holds bytes that are not what was written (bad CRC, broken structure). */
  CORRUPT: 'SAMSA_STORAGE_CORRUPT',
  /** An offset outside [log start offset, log end offset]. */
  OFFSET_OUT_OF_RANGE: 'SAMSA_STORAGE_OFFSET_OUT_OF_RANGE',
  /** A batch that cannot be appended (bad offsets, too large, not magic 2). */
  INVALID_BATCH: 'SAMSA_STORAGE_INVALID_BATCH',
  /** The log or its manager was closed or deleted. */
  CLOSED: 'SAMSA_STORAGE_CLOSED',
  /** A missing file or directory. */
  NOT_FOUND: 'SAMSA_STORAGE_NOT_FOUND'
} as const

export type StorageErrorCode = typeof StorageErrorCode[keyof typeof StorageErrorCode]

export class StorageError extends Error {
  readonly code: StorageErrorCode
  readonly path: string | undefined

  constructor (code: StorageErrorCode, message: string, options?: ErrorOptions & { path?: string }) {
    super(message, options)
    this.name = 'StorageError'
    this.code = code
    this.path = options?.path
  }

  get [kStorageError] (): true {
    return true
  }

  static override [Symbol.hasInstance] (value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kStorageError] === true
  }

  /** Classifies an operating-system error from `op` on `path`. */
  static fromSystem (error: unknown, op: string, path: string): StorageError {
    if (error instanceof StorageError) return error
    const errno = (error as NodeJS.ErrnoException | undefined)?.code
    const code = errno === 'ENOSPC' || errno === 'EDQUOT'
      ? StorageErrorCode.NO_SPACE
      : errno === 'ENOENT' ? StorageErrorCode.NOT_FOUND : StorageErrorCode.IO
    const detail = error instanceof Error ? error.message : String(error)
    return new StorageError(code, `Failed to ${op} '${path}': ${detail}`, { cause: error, path })
  }
}
