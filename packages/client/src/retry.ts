/**
 * Retries with exponential backoff and full jitter (the AWS architecture blog's "full
 * jitter": sleep a uniformly random time between 0 and min(cap, base × 2^attempt)), for
 * retriable errors only: Kafka codes whose exception is a RetriableException in Kafka, and
 * network errors and timeouts. Kafka's own clients use the same three knobs, `retries`,
 * `retry.backoff.ms` and `retry.backoff.max.ms` (KIP-580).
 */
import { setTimeout } from 'node:timers'
import { KafkaInvalidArgumentError, isRetriable } from './errors.ts'

export interface RetryOptions {
  /** Retries after the first attempt. Default 5; 0 disables retries. */
  maxRetries?: number
  /** The backoff before the first retry, before jitter. Default 100 ms. */
  retryBackoffMs?: number
  /** The cap of the exponential backoff. Default 1000 ms. */
  retryBackoffMaxMs?: number
}

/** {@link RetryOptions} with every default applied. */
export interface RetryPolicy {
  readonly maxRetries: number
  readonly retryBackoffMs: number
  readonly retryBackoffMaxMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxRetries: 5, retryBackoffMs: 100, retryBackoffMaxMs: 1000 })

/** Validates and completes retry options (throws KafkaInvalidArgumentError). */
export function retryPolicy (options: RetryOptions = {}, defaults: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  const maxRetries = options.maxRetries ?? defaults.maxRetries
  const retryBackoffMs = options.retryBackoffMs ?? defaults.retryBackoffMs
  const retryBackoffMaxMs = options.retryBackoffMaxMs ?? Math.max(defaults.retryBackoffMaxMs, retryBackoffMs)
  if (!(maxRetries >= 0) || (!Number.isInteger(maxRetries) && maxRetries !== Infinity)) {
    throw new KafkaInvalidArgumentError(`Option 'maxRetries' must be a non-negative integer, got '${String(maxRetries)}'`)
  }
  if (!Number.isFinite(retryBackoffMs) || retryBackoffMs < 0) {
    throw new KafkaInvalidArgumentError(`Option 'retryBackoffMs' must be a non-negative number, got '${String(retryBackoffMs)}'`)
  }
  if (!Number.isFinite(retryBackoffMaxMs) || retryBackoffMaxMs < retryBackoffMs) {
    throw new KafkaInvalidArgumentError(`Option 'retryBackoffMaxMs' must be a number not below retryBackoffMs (${retryBackoffMs}), got '${String(retryBackoffMaxMs)}'`)
  }
  return { maxRetries, retryBackoffMs, retryBackoffMaxMs }
}

/**
 * The delay before retry number `attempt` (0 for the first retry): uniform in
 * [0, min(retryBackoffMaxMs, retryBackoffMs × 2^attempt)].
 */
export function backoffDelay (attempt: number, policy: RetryPolicy, options: { random?: () => number } = {}): number {
  const ceiling = Math.min(policy.retryBackoffMaxMs, policy.retryBackoffMs * 2 ** Math.min(attempt, 30))
  return Math.floor((options.random ?? Math.random)() * ceiling)
}

export interface RetryContext {
  /** 0 for the first attempt. */
  readonly attempt: number
  /** The error of the previous attempt, if any. */
  readonly lastError: unknown
}

export interface WithRetryOptions {
  /** Called before each retry; may do recovery work such as a metadata refresh. */
  onRetry?: (error: unknown, attempt: number) => void | Promise<void>
  /** Decides whether an error is retried. Default: {@link isRetriable}. */
  retriable?: (error: unknown) => boolean
  /** Absolute time (Date.now()) after which no retry is started. */
  deadline?: number
  /** Stops retrying (the last error is thrown) once the signal is aborted. */
  signal?: AbortSignal
  random?: () => number
}

/**
 * Runs `fn` until it resolves, it throws an error that is not retriable, or the retries run
 * out; then the last error is thrown as it is.
 */
export async function withRetry<T> (fn: (context: RetryContext) => Promise<T>, policy: RetryPolicy, options: WithRetryOptions = {}): Promise<T> {
  const retriable = options.retriable ?? isRetriable
  let lastError: unknown
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn({ attempt, lastError })
    } catch (error) {
      lastError = error
      if (attempt >= policy.maxRetries || !retriable(error) || options.signal?.aborted === true) throw error
      const wait = backoffDelay(attempt, policy, options.random === undefined ? {} : { random: options.random })
      if (options.deadline !== undefined && Date.now() + wait >= options.deadline) throw error
      await options.onRetry?.(error, attempt)
      if (wait > 0) await sleep(wait)
    }
  }
}

/** Resolves after `ms` milliseconds (a referenced timer: a pending retry keeps the process alive). */
export async function sleep (ms: number): Promise<void> {
  await new Promise<void>((resolve) => { setTimeout(resolve, ms) })
}
