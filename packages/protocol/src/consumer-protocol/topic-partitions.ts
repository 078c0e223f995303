/** Partitions of one topic, as the consumer protocol lists owned and assigned partitions. */
export interface ConsumerTopicPartitions {
  topic: string
  partitions: number[]
}

/** Input form of {@link ConsumerTopicPartitions}: read-only arrays are accepted. */
export interface ConsumerTopicPartitionsInput {
  readonly topic: string
  readonly partitions: readonly number[]
}

/** Copies the outer list only: the codecs never modify the partition arrays. */
export function toCodecTopicPartitions (list: readonly ConsumerTopicPartitionsInput[]): ConsumerTopicPartitions[] {
  return list.map((tp) => ({ topic: tp.topic, partitions: tp.partitions as number[] }))
}
