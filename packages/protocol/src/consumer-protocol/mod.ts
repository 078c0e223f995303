/** Metadata and assignment bytes of the classic group protocol type "consumer". */
export {
  CONSUMER_PROTOCOL_TYPE, CONSUMER_PROTOCOL_LOWEST_VERSION, CONSUMER_PROTOCOL_HIGHEST_VERSION
} from './versioned.ts'
export { type ConsumerTopicPartitions, type ConsumerTopicPartitionsInput } from './topic-partitions.ts'
export {
  encodeSubscription, decodeSubscription, type ConsumerSubscription, type ConsumerSubscriptionInput
} from './subscription.ts'
export {
  encodeAssignment, decodeAssignment, type ConsumerAssignment, type ConsumerAssignmentInput
} from './assignment.ts'
