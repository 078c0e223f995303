/**
 * Transactions and producers: ListTransactions (every broker coordinates some transactional
 * ids), DescribeTransactions (at each id's transaction coordinator) and DescribeProducers (at
 * each partition's leader).
 */
import { DescribeProducersApi, ErrorCode, DescribeTransactionsApi, ListTransactionsApi } from '@samsa/protocol'
import { type Cluster, CoordinatorType } from '../cluster.ts'
import { type ItemFailure, KafkaResponseError } from '../errors.ts'
import { type TopicPartition, byTopic, failure, groupByLeader, requestBroker, resultOrPartial, requireItems } from './routing.ts'

export interface TransactionListing {
  transactionalId: string
  producerId: bigint
  /** Ongoing, PrepareCommit, CompleteCommit, Empty... */
  transactionState: string
  coordinatorId: number
}

export interface ListTransactionsOptions {
  states?: readonly string[]
  producerIds?: ReadonlyArray<bigint | number>
  /** Only transactions running longer than this (ListTransactions v1+). */
  durationMs?: number
}

export async function listTransactions (cluster: Cluster, options: ListTransactionsOptions = {}): Promise<TransactionListing[]> {
  const metadata = await cluster.refreshMetadata({ topics: [] })
  const result: TransactionListing[] = []
  const failures: ItemFailure[] = []
  await Promise.all([...metadata.brokers.keys()].map(async (nodeId) => {
    try {
      const response = await requestBroker(cluster, nodeId, ListTransactionsApi, {
        stateFilters: [...(options.states ?? [])],
        producerIdFilters: (options.producerIds ?? []).map((id) => BigInt(id)),
        durationFilter: BigInt(options.durationMs ?? -1)
      }, options.durationMs === undefined ? {} : { minVersion: 1 })
      if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'ListTransactions' })
      for (const t of response.transactionStates) result.push({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.transactionState, coordinatorId: nodeId })
    } catch (error) {
      failures.push(failure(`brokers/${nodeId}`, error))
    }
  }))
  result.sort((a, b) => a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0)
  return resultOrPartial(`Listing transactions failed on ${failures.length} brokers`, result, failures)
}

export interface TransactionDescription {
  transactionalId: string
  transactionState: string
  transactionTimeoutMs: number
  /** -1 when no transaction is running. */
  transactionStartTimeMs: number
  producerId: bigint
  producerEpoch: number
  /** Partitions in the running transaction. */
  partitions: TopicPartition[]
  coordinatorId: number
}

export async function describeTransactions (cluster: Cluster, transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
  requireItems(transactionalIds, 'describeTransactions() needs at least one transactional id')
  const result: TransactionDescription[] = []
  const failures: ItemFailure[] = []
  await Promise.all(transactionalIds.map(async (id) => {
    try {
      result.push(await cluster.withCoordinator({ type: CoordinatorType.TRANSACTION, key: id }, async (connection, coordinator) => {
        const response = await connection.request(DescribeTransactionsApi, { transactionalIds: [id] })
        const t = response.transactionStates[0]
        if (t === undefined) throw new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, 'No result', { api: 'DescribeTransactions', resource: id })
        if (t.errorCode !== 0) throw new KafkaResponseError(t.errorCode, null, { api: 'DescribeTransactions', resource: id })
        return {
          transactionalId: t.transactionalId,
          transactionState: t.transactionState,
          transactionTimeoutMs: t.transactionTimeoutMs,
          transactionStartTimeMs: Number(t.transactionStartTimeMs),
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
          partitions: t.topics.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.topic, partition }))),
          coordinatorId: coordinator.nodeId
        }
      }))
    } catch (error) {
      failures.push(failure(`transactions/${id}`, error))
    }
  }))
  return resultOrPartial(`Describing ${failures.length} of ${transactionalIds.length} transactions failed`, result, failures)
}

export interface ProducerState {
  producerId: bigint
  producerEpoch: number
  lastSequence: number
  lastTimestamp: number
  coordinatorEpoch: number
  /** -1n when the producer has no open transaction on the partition. */
  currentTxnStartOffset: bigint
}

export interface PartitionProducers extends TopicPartition {
  activeProducers: ProducerState[]
}

export async function describeProducers (cluster: Cluster, partitions: readonly TopicPartition[]): Promise<PartitionProducers[]> {
  requireItems(partitions, 'describeProducers() needs at least one partition')
  const { byLeader, failures } = await groupByLeader(cluster, partitions)
  const result: PartitionProducers[] = []
  await Promise.all([...byLeader].map(async ([nodeId, list]) => {
    try {
      const response = await requestBroker(cluster, nodeId, DescribeProducersApi, {
        topics: [...byTopic(list)].map(([name, ps]) => ({ name, partitionIndexes: ps.map((p) => p.partition) }))
      })
      for (const t of response.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) {
            failures.push({ path: `topics/${t.name}/partitions/${p.partitionIndex}`, error: new KafkaResponseError(p.errorCode, p.errorMessage, { api: 'DescribeProducers', topic: t.name, partition: p.partitionIndex }) })
            continue
          }
          result.push({
            topic: t.name,
            partition: p.partitionIndex,
            activeProducers: p.activeProducers.map((s) => ({
              producerId: s.producerId,
              producerEpoch: s.producerEpoch,
              lastSequence: s.lastSequence,
              lastTimestamp: Number(s.lastTimestamp),
              coordinatorEpoch: s.coordinatorEpoch,
              currentTxnStartOffset: s.currentTxnStartOffset
            }))
          })
        }
      }
    } catch (error) {
      for (const p of list) failures.push(failure(`topics/${p.topic}/partitions/${p.partition}`, error))
    }
  }))
  return resultOrPartial(`Describing producers of ${failures.length} of ${partitions.length} partitions failed`, result, failures)
}
