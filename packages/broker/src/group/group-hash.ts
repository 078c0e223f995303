/**
 * Which `__consumer_offsets` partition holds a group: Kafka's
 * `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`, with Java's String.hashCode
 * (s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in 32-bit two's complement) and Kafka's
 * Utils.abs, which maps Integer.MIN_VALUE to 0 instead of leaving it negative. Matching it keeps
 * a group on the partition Kafka tools expect when they read the topic.
 */

/** Java's `String.hashCode()`: 32-bit, over UTF-16 code units (JS strings are the same units). */
export function javaStringHashCode (value: string): number {
  let h = 0
  for (let i = 0; i < value.length; i++) h = (Math.imul(h, 31) + value.charCodeAt(i)) | 0
  return h
}

/** Kafka's `Utils.abs(int)`: `n == Integer.MIN_VALUE ? 0 : Math.abs(n)`. */
export function kafkaAbs (n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n)
}

/** The `__consumer_offsets` partition of a group (also the transaction coordinator's rule). */
export function partitionForGroup (groupId: string, numPartitions: number): number {
  return kafkaAbs(javaStringHashCode(groupId)) % numPartitions
}
