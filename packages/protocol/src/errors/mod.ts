/** Kafka's error codes as data, and as an exception. */
export {
  ErrorCode, KAFKA_ERRORS, UNRECOGNIZED_ERROR_NAME, errorByCode,
  type ErrorCodeValue, type ErrorName, type KafkaErrorInfo
} from './error-codes.ts'
export { KafkaProtocolError } from './kafka-protocol-error.ts'
