import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { murmur2, murmur2String, partitionForKey, toPositive } from '../../src/producer/murmur2.ts'

// apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java testMurmur2
const KAFKA_VECTORS: Array<[string, number]> = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107]
]

test('murmur2 matches Kafka\'s Utils.murmur2 on UtilsTest vectors', () => {
  for (const [key, expected] of KAFKA_VECTORS) {
    assert.equal(murmur2(Buffer.from(key)), expected, key)
    assert.equal(murmur2String(key), expected, key)
  }
})

test('the partition of a key is toPositive(murmur2(key)) % numPartitions, as Java\'s partitioner computes it', () => {
  for (const [key, hash] of KAFKA_VECTORS) {
    for (const n of [1, 3, 7, 16, 100]) {
      assert.equal(partitionForKey(key, n), (hash & 0x7fffffff) % n)
      assert.equal(partitionForKey(Buffer.from(key), n), (hash & 0x7fffffff) % n)
    }
  }
  // toPositive is not Math.abs: MIN_VALUE maps to 0, -1 to MAX_VALUE (UtilsTest testAbs / toPositive).
  assert.equal(toPositive(-2147483648), 0)
  assert.equal(toPositive(-1), 2147483647)
  assert.equal(toPositive(5), 5)
})

test('string keys hash their UTF-8 bytes, with or without non-ASCII characters', () => {
  for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'héllo wörld', '日本語のキー', '🌵 cactus', 'x'.repeat(1001)]) {
    assert.equal(murmur2String(key), murmur2(Buffer.from(key, 'utf8')), key)
  }
})

test('murmur2 agrees with kafkajs\'s Java-compatible partitioner on random keys', () => {
  const require = createRequire(import.meta.url)
  const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number
  for (let i = 0; i < 2000; i++) {
    const key = randomBytes(i % 67)
    assert.equal(murmur2(key), kafkajsMurmur2(key))
  }
})
