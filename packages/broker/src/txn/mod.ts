/** The transaction coordinator and its pieces (issue 6). */
export { TransactionCoordinator, TRANSACTION_STATE_TOPIC, type InitProducerIdResult, type DescribedTransaction, type ListedTransaction } from './transaction-coordinator.ts'
export { TransactionMetadata, isEpochExhausted } from './transaction-metadata.ts'
export {
  TransactionState, TRANSACTION_STATUS, encodeTransactionLogKey, decodeTransactionLogKey, encodeTransactionLogValue, decodeTransactionLogValue,
  type TransactionLogValue
} from './transaction-log.ts'
export { ProducerIdManager, PRODUCER_ID_BLOCK_SIZE } from './producer-id-manager.ts'
export { type TransactionCoordinatorConfig, DEFAULT_TRANSACTION_COORDINATOR_CONFIG, transactionCoordinatorConfigFrom } from './txn-config.ts'
export { LocalTxnMarkerWriter, writeTxnMarkersLocally, type TxnMarker, type TxnMarkerResult, type TxnMarkerWriter } from './txn-markers.ts'
