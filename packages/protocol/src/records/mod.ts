/** Record formats (RecordBatch v2, legacy MessageSet v0/v1, control records) and compression. */
export { crc32c, crc32cJs, crc32cNative, CRC32C_IMPLEMENTATION } from './crc32c.ts'
export {
  BASE_OFFSET_OFFSET, LENGTH_OFFSET, PARTITION_LEADER_EPOCH_OFFSET, MAGIC_OFFSET, CRC_OFFSET, ATTRIBUTES_OFFSET,
  LAST_OFFSET_DELTA_OFFSET, BASE_TIMESTAMP_OFFSET, MAX_TIMESTAMP_OFFSET, PRODUCER_ID_OFFSET, PRODUCER_EPOCH_OFFSET,
  BASE_SEQUENCE_OFFSET, RECORDS_COUNT_OFFSET, RECORDS_OFFSET, RECORD_BATCH_OVERHEAD, LOG_OVERHEAD, MIN_BATCH_LENGTH,
  CURRENT_MAGIC, COMPRESSION_CODEC_MASK, TIMESTAMP_TYPE_MASK, TRANSACTIONAL_FLAG_MASK, CONTROL_FLAG_MASK,
  DELETE_HORIZON_FLAG_MASK, TimestampType, NO_PRODUCER_ID, NO_PRODUCER_EPOCH, NO_SEQUENCE, NO_PARTITION_LEADER_EPOCH,
  NO_TIMESTAMP, type RecordBatchHeader,
  readBaseOffset, setBaseOffset, readBatchLength, readPartitionLeaderEpoch, setPartitionLeaderEpoch, readMagic, readCrc,
  readAttributes, readLastOffsetDelta, readLastOffset, readBaseTimestamp, readMaxTimestamp, readProducerId,
  readProducerEpoch, readBaseSequence, readRecordsCount, computeBatchCrc, updateBatchCrc, setLogAppendTime,
  readBatchHeader, BatchErrorCode, type BatchErrorName, type BatchValid, type BatchInvalid, type BatchValidation,
  type ValidateBatchOptions, validateBatch, validateProduceRecords, type LogEntry, batchSizeAt, iterateBatches,
  recordSetMagic
} from './record-batch.ts'
export {
  type RecordHeader, type KafkaRecord, type RecordBytes, type RecordHeaderInput, type RecordInput,
  recordBytesLength, sizeOfRecordBody, sizeOfRecord, writeRecord, readRecord
} from './record.ts'
export { type BuildRecordBatchOptions, buildRecordBatch } from './batch-builder.ts'
export {
  DEFAULT_MAX_DECOMPRESSED_BYTES, type DecodeRecordBatchOptions, type DecodedRecordBatch, decodeRecordBatch
} from './batch-decoder.ts'
export {
  ControlRecordType, CONTROL_RECORD_KEY_VERSION, END_TXN_MARKER_VALUE_VERSION, type ControlRecordKey,
  writeControlRecordKey, readControlRecordKey, type EndTxnMarkerValue, writeEndTxnMarkerValue, readEndTxnMarkerValue,
  type BuildControlBatchOptions, buildControlBatch, type BuildEndTxnMarkerOptions, buildEndTxnMarkerBatch,
  type ControlBatch, readControlBatch
} from './control-record.ts'
export {
  LEGACY_CRC_OFFSET, LEGACY_MAGIC_OFFSET, LEGACY_ATTRIBUTES_OFFSET, LEGACY_TIMESTAMP_OFFSET, MESSAGE_OVERHEAD_V0,
  MESSAGE_OVERHEAD_V1, type LegacyMessage, type ReadMessageSetOptions, legacyCrc32, readMessageSet, readLegacyEntry,
  type ConvertMessageSetOptions, legacyMessagesToRecordBatch, convertMessageSet
} from './legacy.ts'
export { type RecordSetEntry, decodeRecordSet } from './record-set.ts'
export { CompressionType, isCompressionType, compressionName, compress, decompress } from '../compression/codec.ts'
export { DecompressionLimitError } from '../compression/errors.ts'
export { gzipCompress, gzipDecompress } from '../compression/gzip.ts'
export { XERIAL_MAGIC, isXerialSnappy, snappyUncompressedLength, snappyCompress, snappyDecompress } from '../compression/snappy.ts'
export { type Lz4FrameInfo, inspectLz4Frame, lz4Compress, lz4Decompress } from '../compression/lz4.ts'
export { ZSTD_DEFAULT_LEVEL, zstdCompress, zstdDecompress } from '../compression/zstd.ts'
export { xxhash32 } from '../compression/xxhash32.ts'
