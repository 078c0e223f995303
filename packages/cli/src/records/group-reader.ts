/**
 * Reads a topic as a member of a consumer group with @samsa/client's consumer: the group
 * assigns the partitions (or --partition takes them manually, committing under the group),
 * each starts at the group's committed offset, else at the earliest or latest offset. The
 * command tells the reader which records it has printed, and only those offsets are
 * committed: every second, when partitions are revoked, and when the reader stops, so a
 * record is never committed unless it was printed.
 *
 * Without `follow` the reader stops once every assigned partition is caught up (its position
 * at the high watermark, or the last stable offset under read_committed).
 */
import { clearInterval, setInterval } from 'node:timers'
import {
  type CommitOffset, type Consumer, type ConsumerOptions, type TopicPartition, KafkaResponseError, createConsumer
} from '@samsa/client'
import { ErrorCode } from '@samsa/protocol'
import { type CommandIo } from '../io.ts'
import { cliClientOptions, probe } from '../shared/connect.ts'
import { CliError, UsageError, describeKafkaError } from '../shared/errors.ts'
import type { ConsumedRecord, StartPosition } from './reader.ts'

export interface GroupReaderOptions {
  bootstrap: string
  groupId: string
  topic: string
  /** Manual assignment of these partitions; default: the group assigns. */
  partitions?: readonly number[] | undefined
  start: StartPosition
  /** Whether --from was given (else the committed offsets, then the earliest). */
  explicitStart: boolean
  isolationLevel: 'read_committed' | 'read_uncommitted'
  follow: boolean
  signal: AbortSignal
  io: CommandIo
}

const COMMIT_INTERVAL_MS = 1000
const STOP = Symbol('stop')

export class GroupReader {
  readonly #options: GroupReaderOptions
  readonly #consumer: Consumer
  /** The next offset to commit per partition: after the last printed record. */
  readonly #printed = new Map<string, CommitOffset>()
  readonly #committed = new Map<string, bigint>()
  #lastCommit = Date.now()

  constructor (options: GroupReaderOptions) {
    const { start } = options
    if (options.explicitStart && (start.kind === 'from-end' || start.kind === 'from-start')) {
      throw new UsageError('--from -<n> and +<n> cannot be combined with --group (use an offset, a time, beginning or end)')
    }
    this.#options = options
    const consumerOptions: ConsumerOptions = {
      ...cliClientOptions(options.bootstrap),
      allowAutoTopicCreation: false,
      groupId: options.groupId,
      autoOffsetReset: start.kind === 'latest' ? 'latest' : 'earliest',
      autoCommit: false,
      isolationLevel: options.isolationLevel,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000
    }
    this.#consumer = createConsumer(consumerOptions)
  }

  /** Marks a record as printed: its offset will be committed. */
  printed (record: ConsumedRecord): void {
    this.#printed.set(`${record.topic}/${record.partition}`, { topic: record.topic, partition: record.partition, offset: record.offset + 1n })
  }

  async #commit (partitions?: readonly TopicPartition[]): Promise<void> {
    const wanted = partitions === undefined ? null : new Set(partitions.map((p) => `${p.topic}/${p.partition}`))
    const offsets = [...this.#printed].filter(([key, o]) => (wanted === null || wanted.has(key)) && this.#committed.get(key) !== BigInt(o.offset)).map(([, o]) => o)
    if (offsets.length === 0) return
    await this.#consumer.commit(offsets)
    for (const o of offsets) this.#committed.set(`${o.topic}/${o.partition}`, BigInt(o.offset))
    this.#lastCommit = Date.now()
  }

  /** Seeks a newly owned partition to an explicit --from. */
  #seek (partitions: readonly TopicPartition[]): void {
    const { start, explicitStart } = this.#options
    if (!explicitStart) return
    for (const tp of partitions) {
      if (start.kind === 'offset') this.#consumer.seek(tp, start.offset)
      else if (start.kind === 'timestamp') this.#consumer.seek(tp, { timestamp: start.timestamp })
      else if (start.kind === 'earliest' || start.kind === 'latest') this.#consumer.seek(tp, start.kind)
    }
  }

  async #checkTopic (): Promise<void> {
    const { topic, partitions } = this.#options
    const metadata = await this.#consumer.cluster.refreshMetadata({ topics: [topic] })
    const info = metadata.topics.get(topic)
    if (info === undefined || info.errorCode !== 0) throw new KafkaResponseError(info?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, { api: 'Metadata', topic })
    for (const p of partitions ?? []) if (p >= info.partitions.length) throw new CliError(`topic '${topic}' has no partition ${p} (it has ${info.partitions.length})`)
  }

  /** True when every owned partition is caught up and nothing is buffered. */
  #caughtUp (): boolean {
    const owned = this.#consumer.assignment()
    return owned.length > 0 && this.#consumer.bufferedRecords === 0 && owned.every((tp) => this.#consumer.lag(tp) === 0n)
  }

  /** Batches of records until the signal aborts, or (without follow) everything is caught up. */
  async * batches (): AsyncGenerator<readonly ConsumedRecord[], void, undefined> {
    const { topic, partitions, signal, follow } = this.#options
    const consumer = this.#consumer
    let stop: () => void = () => {}
    const stopped = new Promise<typeof STOP>((resolve) => { stop = () => resolve(STOP) })
    signal.addEventListener('abort', stop, { once: true })
    let watcher: ReturnType<typeof setInterval> | null = null
    try {
      await probe(consumer.cluster, this.#options.bootstrap)
      await this.#checkTopic()
      if (partitions === undefined) {
        consumer.subscribe([topic], {
          listener: {
            onPartitionsAssigned: (assigned) => { this.#seek(assigned) },
            onPartitionsRevoked: async (revoked) => { await this.#commit(revoked).catch(() => {}) }
          }
        })
      } else {
        const assigned = partitions.map((partition) => ({ topic, partition }))
        consumer.assign(assigned)
        this.#seek(assigned)
      }
      if (!follow) {
        watcher = setInterval(() => { if (this.#caughtUp()) stop() }, 100)
        watcher.unref()
      }
      const iterator = consumer.batches()
      try {
        for (;;) {
          if (signal.aborted) return
          const next = await Promise.race([iterator.next(), stopped])
          if (next === STOP || next.done === true) return
          yield next.value.records
          if (Date.now() - this.#lastCommit >= COMMIT_INTERVAL_MS) await this.#commit().catch(() => {})
        }
      } finally {
        await iterator.return?.()
      }
    } finally {
      if (watcher !== null) clearInterval(watcher)
      signal.removeEventListener('abort', stop)
      try {
        await this.#commit()
      } catch (error) {
        this.#options.io.stderr(`samsa: could not commit the offsets of group '${this.#options.groupId}': ${describeKafkaError(error)}\n`)
      }
      await consumer.close()
    }
  }
}
