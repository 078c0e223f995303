/**
 * Transaction markers in a cluster (Kafka's TransactionMarkerChannelManager): each partition of a
 * transaction gets its COMMIT/ABORT marker from its current leader. Partitions this broker leads
 * are written here directly (txn-markers.ts); the others are sent to their leaders with
 * WriteTxnMarkers (key 27, v1), one request per leader broker. A partition without a known
 * leader, or whose leader cannot be reached, answers a retriable error (NOT_LEADER_OR_FOLLOWER,
 * COORDINATOR_NOT_AVAILABLE) and the coordinator tries again after its backoff, by which time the
 * metadata names the new leader.
 */
import { ErrorCode, WriteTxnMarkersApi } from '@samsa/protocol'
import type { Logger } from '../logger.ts'
import { NO_LEADER } from '../metadata/metadata-store.ts'
import { type BrokerAddress, BrokerChannel } from '../replication/broker-channel.ts'
import type { TopicRegistry } from '../topics/topic-registry.ts'
import { type LocalMarkerDeps, type TxnMarker, type TxnMarkerResult, type TxnMarkerWriter, type TopicPartition, writeTxnMarkersLocally } from './txn-markers.ts'

export const WRITE_TXN_MARKERS_VERSION = 1

export interface ClusterTxnMarkerWriterOptions extends LocalMarkerDeps {
  topics: TopicRegistry
  nodeId: number
  /** Where a broker takes inter-broker requests, or undefined while it is not registered. */
  address: (nodeId: number) => BrokerAddress | undefined
  requestTimeoutMs: number
  logger: Logger
}

export class ClusterTxnMarkerWriter implements TxnMarkerWriter {
  readonly #options: ClusterTxnMarkerWriterOptions
  readonly #channels = new Map<number, BrokerChannel>()

  constructor (options: ClusterTxnMarkerWriterOptions) {
    this.#options = options
  }

  async writeLocal (marker: TxnMarker): Promise<TxnMarkerResult[]> {
    return await writeTxnMarkersLocally(this.#options, marker)
  }

  async write (marker: TxnMarker): Promise<TxnMarkerResult[]> {
    const byLeader = new Map<number, TopicPartition[]>()
    const results: TxnMarkerResult[] = []
    for (const tp of marker.partitions) {
      const p = this.#options.topics.anyPartition(tp.topic, tp.partition)
      if (p === undefined) {
        results.push({ ...tp, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })
        continue
      }
      if (p.leaderId === NO_LEADER) {
        results.push({ ...tp, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER })
        continue
      }
      let list = byLeader.get(p.leaderId)
      if (list === undefined) byLeader.set(p.leaderId, list = [])
      list.push(tp)
    }
    const parts = await Promise.all([...byLeader].map(async ([leader, partitions]) => {
      const sub = { ...marker, partitions }
      if (leader === this.#options.nodeId) return await this.writeLocal(sub)
      return await this.#send(leader, sub)
    }))
    for (const part of parts) results.push(...part)
    return results
  }

  async #send (leader: number, marker: TxnMarker): Promise<TxnMarkerResult[]> {
    const topics = new Map<string, number[]>()
    for (const tp of marker.partitions) {
      let ids = topics.get(tp.topic)
      if (ids === undefined) topics.set(tp.topic, ids = [])
      ids.push(tp.partition)
    }
    try {
      const response = await this.#channel(leader).request(WriteTxnMarkersApi, WRITE_TXN_MARKERS_VERSION, {
        markers: [{
          producerId: marker.producerId,
          producerEpoch: marker.producerEpoch,
          transactionResult: marker.commit,
          coordinatorEpoch: marker.coordinatorEpoch,
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes }))
        }]
      })
      const codes = new Map<string, number>()
      for (const m of response.markers) for (const t of m.topics) for (const p of t.partitions) codes.set(`${t.name}\u0000${p.partitionIndex}`, p.errorCode)
      return marker.partitions.map((tp) => ({ ...tp, errorCode: codes.get(`${tp.topic}\u0000${tp.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR }))
    } catch (error) {
      this.#options.logger.warn('Sending transaction markers failed; the coordinator retries', { leader, error })
      return marker.partitions.map((tp) => ({ ...tp, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }))
    }
  }

  #channel (nodeId: number): BrokerChannel {
    let channel = this.#channels.get(nodeId)
    if (channel === undefined) {
      channel = new BrokerChannel({
        nodeId,
        address: () => this.#options.address(nodeId),
        clientId: `broker-${this.#options.nodeId}-txn-marker-sender`,
        requestTimeoutMs: this.#options.requestTimeoutMs
      })
      this.#channels.set(nodeId, channel)
    }
    return channel
  }

  /** Closes the connections to other brokers. */
  close (): void {
    for (const c of this.#channels.values()) c.close()
    this.#channels.clear()
  }
}
