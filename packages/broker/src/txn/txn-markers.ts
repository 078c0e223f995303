/**
 * Writing COMMIT/ABORT markers into the partitions of a transaction.
 *
 * In Kafka the coordinator sends WriteTxnMarkers (key 27) to each partition's leader, which
 * appends a control batch (`buildEndTxnMarkerBatch`: transactional, control, the producer's id
 * and epoch, the coordinator epoch) with origin COORDINATOR and, for `__consumer_offsets`
 * partitions, has the group coordinator make the transaction's offsets visible (or drop them).
 * The coordinator talks to a TxnMarkerWriter; on a single node the LocalTxnMarkerWriter calls the
 * partitions here directly (the WriteTxnMarkers handler uses the same function), and a cluster
 * can put a writer that sends WriteTxnMarkers behind the same interface.
 *
 * Per-partition results are Kafka error codes: NONE; UNKNOWN_TOPIC_OR_PARTITION (gone: the
 * coordinator stops trying); INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED (a newer
 * producer or coordinator has written there: this marker is not needed); KAFKA_STORAGE_ERROR
 * and the like (retried).
 */
import { ControlRecordType, ErrorCode, KafkaProtocolError, buildEndTxnMarkerBatch } from '@samsa/protocol'
import { ProducerStateError, StorageError } from '@samsa/storage'
import type { Logger } from '../logger.ts'
import type { TopicRegistry } from '../topics/topic-registry.ts'

export interface TopicPartition {
  topic: string
  partition: number
}

export interface TxnMarker {
  producerId: bigint
  producerEpoch: number
  coordinatorEpoch: number
  commit: boolean
  partitions: readonly TopicPartition[]
}

export interface TxnMarkerResult extends TopicPartition {
  errorCode: number
}

export interface TxnMarkerWriter {
  /** Writes the marker to every listed partition, wherever its leader is (the coordinator's side). */
  write (marker: TxnMarker): Promise<TxnMarkerResult[]>
  /** Writes it to the listed partitions this broker leads (the WriteTxnMarkers handler's side). */
  writeLocal (marker: TxnMarker): Promise<TxnMarkerResult[]>
}

export const OFFSETS_TOPIC_NAME = '__consumer_offsets'

export interface LocalMarkerDeps {
  topics: TopicRegistry
  logger: Logger
  clock: () => number
  /**
   * Told once a marker is in a `__consumer_offsets` partition: the group coordinator makes the
   * producer's pending transactional offsets there visible (commit) or drops them (abort).
   */
  onOffsetsMarker?: ((producerId: bigint, partition: number, commit: boolean) => void) | undefined
  /** How long a marker waits for the partition's in-sync replicas (default 30 s, Kafka's request.timeout.ms). */
  replicationTimeoutMs?: number
}

/**
 * Appends the marker to each partition this broker leads (NOT_LEADER_OR_FOLLOWER for a partition
 * led elsewhere: the coordinator retries once it knows the new leader); waits for flushes
 * `flush.messages` asks for and for the partition's in-sync replicas (Kafka writes markers with
 * acks=all), so a marker acknowledged to the coordinator survives the leader's failure.
 */
export async function writeTxnMarkersLocally (deps: LocalMarkerDeps, marker: TxnMarker): Promise<TxnMarkerResult[]> {
  const results: TxnMarkerResult[] = []
  const waits: Array<Promise<void>> = []
  const now = deps.clock()
  for (const { topic, partition: index } of marker.partitions) {
    const result: TxnMarkerResult = { topic, partition: index, errorCode: ErrorCode.NONE }
    results.push(result)
    const partition = deps.topics.partition(topic, index)
    if (partition === undefined || !partition.isLeader) {
      result.errorCode = deps.topics.anyPartition(topic, index) === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NOT_LEADER_OR_FOLLOWER
      continue
    }
    const batch = buildEndTxnMarkerBatch({
      type: marker.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
      producerId: marker.producerId,
      producerEpoch: marker.producerEpoch,
      coordinatorEpoch: marker.coordinatorEpoch,
      timestamp: now
    })
    try {
      const appended = partition.appendAsLeader(batch, 'coordinator')
      if (appended.flushed !== undefined) {
        waits.push(appended.flushed.catch((error: unknown) => {
          deps.logger.error('Flushing a transaction marker failed', { topic, partition: index, error })
          result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR
        }))
      }
      if (topic === OFFSETS_TOPIC_NAME) deps.onOffsetsMarker?.(marker.producerId, index, marker.commit)
      const replicated = partition.awaitReplication(appended.lastOffset + 1, 1, deps.replicationTimeoutMs ?? 30000)
      if (typeof replicated === 'number') result.errorCode = replicated
      else waits.push(replicated.then((code) => { if (result.errorCode === ErrorCode.NONE) result.errorCode = code }))
    } catch (error) {
      if (error instanceof KafkaProtocolError) {
        result.errorCode = error.code
      } else if (error instanceof ProducerStateError) {
        result.errorCode = error.errorCode
      } else if (error instanceof StorageError) {
        deps.logger.error('Writing a transaction marker failed', { topic, partition: index, error })
        result.errorCode = ErrorCode.KAFKA_STORAGE_ERROR
      } else {
        throw error
      }
    }
  }
  await Promise.all(waits)
  return results
}

export class LocalTxnMarkerWriter implements TxnMarkerWriter {
  readonly #deps: LocalMarkerDeps

  constructor (deps: LocalMarkerDeps) {
    this.#deps = deps
  }

  async write (marker: TxnMarker): Promise<TxnMarkerResult[]> {
    return await writeTxnMarkersLocally(this.#deps, marker)
  }

  async writeLocal (marker: TxnMarker): Promise<TxnMarkerResult[]> {
    return await writeTxnMarkersLocally(this.#deps, marker)
  }
}
