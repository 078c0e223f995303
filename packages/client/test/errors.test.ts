import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import {
  ClientErrorCode, KafkaClientError, KafkaClosedError, KafkaInvalidArgumentError, KafkaNetworkError, KafkaPartialFailureError,
  KafkaResponseError, KafkaTimeoutError, KafkaUnsupportedVersionError, errorName, isRetriable
} from '../src/errors.ts'

test('a Kafka error code becomes KafkaResponseError with Kafka\'s name, code, retriable flag and location', () => {
  const e = new KafkaResponseError(ErrorCode.NOT_LEADER_OR_FOLLOWER, null, { api: 'Produce', topic: 'orders', partition: 3 })
  assert.equal(e.code, 'SAMSA_CLIENT_PROTOCOL')
  assert.equal(e.errorName, 'NOT_LEADER_OR_FOLLOWER')
  assert.equal(e.errorCode, 6)
  assert.equal(e.retriable, true)
  assert.equal(e.topic, 'orders')
  assert.equal(e.partition, 3)
  assert.match(e.message, /^Produce failed for 'orders-3': NOT_LEADER_OR_FOLLOWER \(6\): /)
  assert.ok(e.cause instanceof KafkaProtocolError)
  assert.ok(e instanceof KafkaClientError)
  assert.ok(e instanceof Error)

  const fenced = new KafkaResponseError(ErrorCode.PRODUCER_FENCED, 'another producer took over', { api: 'EndTxn', resource: 'tx-1' })
  assert.equal(fenced.retriable, false)
  assert.equal(fenced.errorMessage, 'another producer took over')
  assert.match(fenced.message, /EndTxn failed for 'tx-1': PRODUCER_FENCED \(90\): another producer took over/)
  assert.equal(new KafkaResponseError(9999).errorName, 'UNRECOGNIZED_ERROR_CODE')
  assert.equal(errorName(16), 'NOT_COORDINATOR')
})

test('every error has a stable SAMSA_CLIENT_ code and a retriable flag', () => {
  const cases: Array<[KafkaClientError, string, boolean]> = [
    [new KafkaNetworkError('x', { broker: 'h:1' }), ClientErrorCode.NETWORK, true],
    [new KafkaTimeoutError('x'), ClientErrorCode.TIMEOUT, true],
    [new KafkaClosedError('x'), ClientErrorCode.CLOSED, false],
    [new KafkaInvalidArgumentError('x'), ClientErrorCode.INVALID_ARGUMENT, false],
    [new KafkaUnsupportedVersionError('Fetch', 1, 'x'), ClientErrorCode.UNSUPPORTED_VERSION, false]
  ]
  for (const [error, code, retriable] of cases) {
    assert.equal(error.code, code)
    assert.ok(error.code.startsWith('SAMSA_CLIENT_'))
    assert.equal(error.retriable, retriable)
    assert.equal(isRetriable(error), retriable)
    assert.ok(error instanceof KafkaClientError)
  }
  assert.equal(isRetriable(new Error('plain')), false)
  assert.equal(isRetriable(new KafkaProtocolError(ErrorCode.REQUEST_TIMED_OUT)), true)
})

test('brands make instanceof work for objects from another copy of the package', () => {
  const foreign = Object.create(null) as Record<symbol, unknown>
  foreign[Symbol.for('samsa.client.KafkaClientError')] = true
  foreign[Symbol.for('samsa.client.KafkaNetworkError')] = true
  assert.ok(foreign instanceof KafkaClientError)
  assert.ok(foreign instanceof KafkaNetworkError)
  assert.ok(!(foreign instanceof KafkaTimeoutError))
  assert.ok(!(new KafkaTimeoutError('x') instanceof KafkaNetworkError))
})

test('partial failures keep the partial result and every item error', () => {
  const failures = [
    { path: 'topics/a', error: new KafkaResponseError(ErrorCode.TOPIC_ALREADY_EXISTS, null, { api: 'CreateTopics', topic: 'a' }) },
    { path: 'topics/b', error: new KafkaResponseError(ErrorCode.REQUEST_TIMED_OUT, null, { api: 'CreateTopics', topic: 'b' }) }
  ]
  const e = new KafkaPartialFailureError('Creating 2 of 3 topics failed', { failures, result: [{ name: 'c' }] })
  assert.equal(e.code, 'SAMSA_CLIENT_PARTIAL_FAILURE')
  assert.deepEqual(e.result, [{ name: 'c' }])
  assert.equal(e.errors.length, 2)
  assert.equal(e.failures[0]!.path, 'topics/a')
  assert.equal(e.retriable, false, 'not every failure is retriable')
  assert.ok(e instanceof AggregateError)
  assert.ok(e instanceof KafkaClientError)
  assert.ok(e instanceof KafkaPartialFailureError)
  assert.match(e.message, /topics\/a: CreateTopics failed for topic 'a': TOPIC_ALREADY_EXISTS/)
})
