/**
 * Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`), bit for bit: the hash the
 * Java producer's default partitioner applies to a record's serialized key, so that keyed
 * records land on the same partitions whichever client wrote them.
 */

const SEED = 0x9747b28c | 0
const M = 0x5bd1e995

/** murmur2 of `data` as Java's signed int. */
export function murmur2 (data: Uint8Array): number {
  const length = data.length
  let h = SEED ^ length
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = length & ~3
  const rest = length & 3
  if (rest === 3) h ^= data[tail + 2]! << 16
  if (rest >= 2) h ^= data[tail + 1]! << 8
  if (rest >= 1) h = Math.imul(h ^ data[tail]!, M)
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h
}

/**
 * murmur2 of a string's UTF-8 bytes. ASCII strings (the usual keys) are hashed from their
 * char codes without allocating; others are encoded first.
 */
export function murmur2String (text: string): number {
  const length = text.length
  for (let i = 0; i < length; i++) {
    if (text.charCodeAt(i) > 0x7f) return murmur2(Buffer.from(text, 'utf8'))
  }
  let h = SEED ^ length
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2
    let k = text.charCodeAt(i4) | (text.charCodeAt(i4 + 1) << 8) | (text.charCodeAt(i4 + 2) << 16) | (text.charCodeAt(i4 + 3) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = length & ~3
  const rest = length & 3
  if (rest === 3) h ^= text.charCodeAt(tail + 2) << 16
  if (rest >= 2) h ^= text.charCodeAt(tail + 1) << 8
  if (rest >= 1) h = Math.imul(h ^ text.charCodeAt(tail), M)
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not Math.abs, which fails for MIN_VALUE). */
export function toPositive (n: number): number {
  return n & 0x7fffffff
}

/** The partition Kafka's default partitioner picks for a non-null key. */
export function partitionForKey (key: Uint8Array | string, numPartitions: number): number {
  const hash = typeof key === 'string' ? murmur2String(key) : murmur2(key)
  return toPositive(hash) % numPartitions
}
