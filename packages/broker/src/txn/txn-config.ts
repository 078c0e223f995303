/**
 * The transaction coordinator's settings, by Kafka's config names
 * (TransactionStateManagerConfig, TransactionLogConfig); defaults are Kafka's.
 */
import type { BrokerConfig } from '../config/mod.ts'

export interface TransactionCoordinatorConfig {
  /** `transaction.max.timeout.ms`: a longer InitProducerId timeout is INVALID_TRANSACTION_TIMEOUT. */
  transactionMaxTimeoutMs: number
  /** `transactional.id.expiration.ms`: idle ids (no transaction running) are removed after it. */
  transactionalIdExpirationMs: number
  /** `transaction.state.log.num.partitions` (used when the topic does not exist yet). */
  transactionStateLogNumPartitions: number
  /** `transaction.state.log.replication.factor` (capped at the number of brokers). */
  transactionStateLogReplicationFactor: number
  /** `transaction.state.log.min.isr` (capped at the replication factor). */
  transactionStateLogMinIsr: number
  /** `transaction.state.log.segment.bytes`. */
  transactionStateLogSegmentBytes: number
  /** `transaction.state.log.load.buffer.size`: bytes read at a time when loading a partition. */
  transactionStateLogLoadBufferSize: number
  /** `transaction.abort.timed.out.transaction.cleanup.interval.ms`. */
  abortTimedOutTransactionsIntervalMs: number
  /** `transaction.remove.expired.transaction.cleanup.interval.ms`. */
  removeExpiredTransactionalIdsIntervalMs: number
  /** `transaction.partition.verification.enable` (KIP-890): transactional produce checks the partition is in the transaction. */
  partitionVerificationEnable: boolean
  /** How long to wait before retrying markers or a state write that failed (ms). */
  retryBackoffMs: number
  /** How long a state write waits for the topic's in-sync replicas (Kafka's broker request.timeout.ms, 30 s). */
  requestTimeoutMs: number
}

export const DEFAULT_TRANSACTION_COORDINATOR_CONFIG: Readonly<TransactionCoordinatorConfig> = Object.freeze({
  transactionMaxTimeoutMs: 900000,
  transactionalIdExpirationMs: 604800000,
  transactionStateLogNumPartitions: 50,
  transactionStateLogReplicationFactor: 3,
  transactionStateLogMinIsr: 2,
  transactionStateLogSegmentBytes: 104857600,
  transactionStateLogLoadBufferSize: 5242880,
  abortTimedOutTransactionsIntervalMs: 10000,
  removeExpiredTransactionalIdsIntervalMs: 3600000,
  partitionVerificationEnable: true,
  retryBackoffMs: 100,
  requestTimeoutMs: 30000
})

export function transactionCoordinatorConfigFrom (config: BrokerConfig): TransactionCoordinatorConfig {
  const int = (name: string, fallback: number): number => {
    const v = config.get(name)
    return typeof v === 'number' ? v : fallback
  }
  const d = DEFAULT_TRANSACTION_COORDINATOR_CONFIG
  const verify = config.get('transaction.partition.verification.enable')
  return {
    transactionMaxTimeoutMs: int('transaction.max.timeout.ms', d.transactionMaxTimeoutMs),
    transactionalIdExpirationMs: int('transactional.id.expiration.ms', d.transactionalIdExpirationMs),
    transactionStateLogNumPartitions: int('transaction.state.log.num.partitions', d.transactionStateLogNumPartitions),
    transactionStateLogReplicationFactor: int('transaction.state.log.replication.factor', d.transactionStateLogReplicationFactor),
    transactionStateLogMinIsr: int('transaction.state.log.min.isr', d.transactionStateLogMinIsr),
    transactionStateLogSegmentBytes: int('transaction.state.log.segment.bytes', d.transactionStateLogSegmentBytes),
    transactionStateLogLoadBufferSize: int('transaction.state.log.load.buffer.size', d.transactionStateLogLoadBufferSize),
    abortTimedOutTransactionsIntervalMs: int('transaction.abort.timed.out.transaction.cleanup.interval.ms', d.abortTimedOutTransactionsIntervalMs),
    removeExpiredTransactionalIdsIntervalMs: int('transaction.remove.expired.transaction.cleanup.interval.ms', d.removeExpiredTransactionalIdsIntervalMs),
    partitionVerificationEnable: typeof verify === 'boolean' ? verify : d.partitionVerificationEnable,
    retryBackoffMs: d.retryBackoffMs,
    requestTimeoutMs: d.requestTimeoutMs
  }
}
