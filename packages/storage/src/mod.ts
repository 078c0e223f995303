/**
 * @samsa/storage: partition logs on disk in Kafka's layout, with recovery, retention,
 * compaction and the hooks the idempotence and transaction layers fill in.
 */
export { StorageError, StorageErrorCode } from './errors.ts'
export { type FileHandle, type FileSystem, type OpenMode, NodeFileSystem } from './file-system.ts'
export { HandlePool } from './handle-pool.ts'
export { CheckpointFile, type PartitionOffset, type EpochEntry, partitionOffsetCheckpoint, leaderEpochCheckpoint } from './checkpoint-file.ts'
export { OffsetIndex, OFFSET_INDEX_ENTRY_SIZE, type OffsetPosition } from './offset-index.ts'
export { TimeIndex, TIME_INDEX_ENTRY_SIZE, type TimestampOffset } from './time-index.ts'
export { TransactionIndex, TXN_INDEX_ENTRY_SIZE, type AbortedTxn } from './transaction-index.ts'
export { LeaderEpochCache, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEndOffset } from './leader-epoch-cache.ts'
export { type LogConfig, DEFAULT_LOG_CONFIG, LONG_MAX, logConfig, compacted, deletes } from './log-config.ts'
export { LogSegment, type BatchInfo, type SegmentRead, type SegmentOptions, offsetFileName } from './log-segment.ts'
export {
  PartitionLog, type PartitionLogOptions, type AppendResult, type ReadOptions, type ReadResult, type OffsetAndTimestamp,
  type RecoveryReport, type AppendOptions, COALESCE_BYTES
} from './partition-log.ts'
export { LogManager, type LogManagerOptions, type LoadReport, parsePartitionDir, CLEAN_SHUTDOWN_FILE } from './log-manager.ts'
export {
  LogCleaner, type LogCleanerOptions, type CleanableState, type CleanResult, type ProducerLastRecord, groupSegmentsBySize,
  CLEANER_OFFSET_CHECKPOINT, DEFAULT_CLEANER_BACKOFF_MS
} from './log-cleaner.ts'
export { OffsetMap, DEFAULT_DEDUPE_BUFFER_SIZE } from './offset-map.ts'
export {
  ProducerStateManager, type ProducerStateConfig, type LastRecord, DEFAULT_PRODUCER_STATE_CONFIG, DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS
} from './producer-state/producer-state-manager.ts'
export {
  ProducerAppendInfo, ProducerStateError, type AppendOrigin, type CompletedTxn, type DataBatch, type MarkerBatch
} from './producer-state/producer-append-info.ts'
export {
  ProducerStateEntry, type BatchMetadata, NUM_BATCHES_TO_RETAIN, incrementSequence, decrementSequence
} from './producer-state/producer-state-entry.ts'
export { encodeProducerSnapshot, decodeProducerSnapshot, CorruptSnapshotError, PRODUCER_SNAPSHOT_VERSION } from './producer-state/producer-snapshot.ts'
export { MemoryFileSystem, mulberry32, randomSeed, type MemoryFileSystemOptions, type FaultOp, type CrashOptions, type CrashReport } from './memory-file-system.ts'
