import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode } from '@samsa/protocol'
import { KafkaInvalidArgumentError, KafkaNetworkError, KafkaResponseError } from '../src/errors.ts'
import { backoffDelay, retryPolicy, withRetry } from '../src/retry.ts'

test('backoff is full jitter: uniform in [0, min(max, base × 2^attempt)]', () => {
  const policy = retryPolicy({ retryBackoffMs: 100, retryBackoffMaxMs: 1000 })
  assert.equal(backoffDelay(0, policy, { random: () => 0 }), 0)
  assert.equal(backoffDelay(0, policy, { random: () => 0.999999 }), 99)
  assert.equal(backoffDelay(1, policy, { random: () => 0.5 }), 100)
  assert.equal(backoffDelay(2, policy, { random: () => 0.5 }), 200)
  assert.equal(backoffDelay(3, policy, { random: () => 0.5 }), 400)
  assert.equal(backoffDelay(4, policy, { random: () => 0.5 }), 500, 'capped at retryBackoffMaxMs')
  assert.equal(backoffDelay(60, policy, { random: () => 0.999999 }), 999, 'no overflow for large attempts')
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(i % 8, policy)
    assert.ok(d >= 0 && d < Math.min(1000, 100 * 2 ** (i % 8)))
  }
})

test('retry options are validated', () => {
  assert.throws(() => retryPolicy({ maxRetries: -1 }), KafkaInvalidArgumentError)
  assert.throws(() => retryPolicy({ maxRetries: 1.5 }), KafkaInvalidArgumentError)
  assert.throws(() => retryPolicy({ retryBackoffMs: -5 }), KafkaInvalidArgumentError)
  assert.throws(() => retryPolicy({ retryBackoffMs: 100, retryBackoffMaxMs: 50 }), /retryBackoffMaxMs/)
  assert.deepEqual(retryPolicy({}), { maxRetries: 5, retryBackoffMs: 100, retryBackoffMaxMs: 1000 })
  assert.equal(retryPolicy({ maxRetries: Infinity }).maxRetries, Infinity)
})

test('withRetry retries retriable errors (Kafka\'s retriable codes, network errors) up to maxRetries', async () => {
  const policy = retryPolicy({ maxRetries: 3, retryBackoffMs: 1, retryBackoffMaxMs: 2 })
  let calls = 0
  const value = await withRetry(() => {
    calls++
    if (calls === 1) return Promise.reject(new KafkaNetworkError('down'))
    if (calls === 2) return Promise.reject(new KafkaResponseError(ErrorCode.NOT_LEADER_OR_FOLLOWER))
    return Promise.resolve('ok')
  }, policy)
  assert.equal(value, 'ok')
  assert.equal(calls, 3)

  calls = 0
  await assert.rejects(withRetry(() => {
    calls++
    return Promise.reject(new KafkaResponseError(ErrorCode.LEADER_NOT_AVAILABLE))
  }, policy), (e: unknown) => e instanceof KafkaResponseError && e.errorName === 'LEADER_NOT_AVAILABLE')
  assert.equal(calls, 4, 'one attempt and three retries')
})

test('withRetry does not retry errors that are not retriable', async () => {
  const policy = retryPolicy({ maxRetries: 5, retryBackoffMs: 1 })
  for (const error of [new KafkaResponseError(ErrorCode.TOPIC_AUTHORIZATION_FAILED), new KafkaInvalidArgumentError('bad'), new Error('plain')]) {
    let calls = 0
    await assert.rejects(withRetry(() => {
      calls++
      return Promise.reject(error)
    }, policy), (e) => e === error)
    assert.equal(calls, 1)
  }
})

test('withRetry stops at the deadline and runs onRetry before each retry', async () => {
  const policy = retryPolicy({ maxRetries: 100, retryBackoffMs: 20, retryBackoffMaxMs: 20 })
  const retries: number[] = []
  const started = Date.now()
  await assert.rejects(withRetry(() => Promise.reject(new KafkaNetworkError('down')), policy, {
    deadline: started + 100,
    random: () => 0.99,
    onRetry: (_e, attempt) => { retries.push(attempt) }
  }), KafkaNetworkError)
  assert.ok(Date.now() - started < 1000)
  assert.ok(retries.length >= 2 && retries.length <= 6, String(retries.length))
  assert.deepEqual(retries, retries.map((_, i) => i))
})
