/**
 * The promise behind one `send()` call. Its records may land in several batches; each batch
 * reports back by index, and the promise settles once every record has: with one metadata for
 * a single record, a list for a list, or a KafkaPartialFailureError that keeps the records
 * that did succeed.
 */
import { type ItemFailure, type KafkaClientError, KafkaPartialFailureError } from '../errors.ts'
import type { RecordMetadata } from './record.ts'

export class SendRequest {
  pending: number
  readonly results: Array<RecordMetadata | undefined> | null
  #failures: ItemFailure[] | null = null
  #single: RecordMetadata | undefined
  #resolve!: (value: RecordMetadata | RecordMetadata[]) => void
  #reject!: (error: Error) => void
  /** What `send()` returns. */
  readonly promise: Promise<RecordMetadata | RecordMetadata[]>

  constructor (count: number, isList: boolean) {
    this.pending = count
    this.results = isList ? new Array<RecordMetadata | undefined>(count) : null
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  recordDone (index: number, metadata: RecordMetadata): void {
    if (this.results === null) this.#single = metadata
    else this.results[index] = metadata
    if (--this.pending === 0) this.#settle()
  }

  recordFailed (index: number, topic: string, error: KafkaClientError): void {
    (this.#failures ??= []).push({ path: `records/${index}/topics/${topic}`, error })
    if (--this.pending === 0) this.#settle()
  }

  /** Fails every record not yet settled from `from` on (a whole send that could not proceed). */
  failRest (from: number, count: number, topicOf: (index: number) => string, error: KafkaClientError): void {
    for (let i = from; i < count; i++) this.recordFailed(i, topicOf(i), error)
  }

  #settle (): void {
    const failures = this.#failures
    if (failures === null) {
      this.#resolve(this.results === null ? this.#single! : this.results as RecordMetadata[])
    } else if (this.results === null) {
      this.#reject(failures[0]!.error)
    } else {
      this.#reject(new KafkaPartialFailureError(`${failures.length} of ${this.results.length} records failed`, { failures, result: this.results }))
    }
  }
}
