/** Per-item outcomes of multi-item admin calls, for commands that report each item. */
import { KafkaPartialFailureError } from '@samsa/client'
import { errorText } from './errors.ts'

export interface Settled<T> {
  /** What succeeded (the partial result when some items failed), undefined when nothing did. */
  result: T | undefined
  /** Error text by failure path (`topics/<name>`...). */
  errors: Map<string, string>
}

/** Runs a multi-item call, keeping per-item failures instead of throwing them. */
export async function settle<T> (fn: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { result: await fn(), errors: new Map() }
  } catch (error) {
    if (!(error instanceof KafkaPartialFailureError)) throw error
    const errors = new Map<string, string>()
    for (const f of error.failures) errors.set(f.path, errorText(f.error))
    return { result: error.result as T | undefined, errors }
  }
}
