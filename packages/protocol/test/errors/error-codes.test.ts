import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { protocolErrors } from '@platformatic/kafka'
import { ErrorCode, KAFKA_ERRORS, UNRECOGNIZED_ERROR_NAME, errorByCode } from '../../src/errors/error-codes.ts'
import { KafkaProtocolError } from '../../src/errors/kafka-protocol-error.ts'

// The table of shared/design/PROTOCOL-NOTES.md §f ("Error codes a broker returns most"): code, name,
// retriable. NONE is "–" there; Kafka builds no exception for it, so it is not retriable.
const NOTES: Array<[number, string, boolean]> = [
  [-1, 'UNKNOWN_SERVER_ERROR', false], [0, 'NONE', false], [1, 'OFFSET_OUT_OF_RANGE', false],
  [2, 'CORRUPT_MESSAGE', true], [3, 'UNKNOWN_TOPIC_OR_PARTITION', true], [5, 'LEADER_NOT_AVAILABLE', true],
  [6, 'NOT_LEADER_OR_FOLLOWER', true], [7, 'REQUEST_TIMED_OUT', true], [10, 'MESSAGE_TOO_LARGE', false],
  [13, 'NETWORK_EXCEPTION', true], [14, 'COORDINATOR_LOAD_IN_PROGRESS', true], [15, 'COORDINATOR_NOT_AVAILABLE', true],
  [16, 'NOT_COORDINATOR', true], [17, 'INVALID_TOPIC_EXCEPTION', false], [18, 'RECORD_LIST_TOO_LARGE', false],
  [19, 'NOT_ENOUGH_REPLICAS', true], [20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', true], [21, 'INVALID_REQUIRED_ACKS', false],
  [22, 'ILLEGAL_GENERATION', false], [23, 'INCONSISTENT_GROUP_PROTOCOL', false], [24, 'INVALID_GROUP_ID', false],
  [25, 'UNKNOWN_MEMBER_ID', false], [26, 'INVALID_SESSION_TIMEOUT', false], [27, 'REBALANCE_IN_PROGRESS', false],
  [28, 'INVALID_COMMIT_OFFSET_SIZE', false], [29, 'TOPIC_AUTHORIZATION_FAILED', false], [30, 'GROUP_AUTHORIZATION_FAILED', false],
  [31, 'CLUSTER_AUTHORIZATION_FAILED', false], [32, 'INVALID_TIMESTAMP', false], [33, 'UNSUPPORTED_SASL_MECHANISM', false],
  [34, 'ILLEGAL_SASL_STATE', false], [35, 'UNSUPPORTED_VERSION', false], [36, 'TOPIC_ALREADY_EXISTS', false],
  [37, 'INVALID_PARTITIONS', false], [38, 'INVALID_REPLICATION_FACTOR', false], [40, 'INVALID_CONFIG', false],
  [41, 'NOT_CONTROLLER', true], [42, 'INVALID_REQUEST', false], [45, 'OUT_OF_ORDER_SEQUENCE_NUMBER', false],
  [46, 'DUPLICATE_SEQUENCE_NUMBER', false], [47, 'INVALID_PRODUCER_EPOCH', false], [48, 'INVALID_TXN_STATE', false],
  [49, 'INVALID_PRODUCER_ID_MAPPING', false], [50, 'INVALID_TRANSACTION_TIMEOUT', false], [51, 'CONCURRENT_TRANSACTIONS', true],
  [52, 'TRANSACTION_COORDINATOR_FENCED', false], [53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', false], [56, 'KAFKA_STORAGE_ERROR', true],
  [58, 'SASL_AUTHENTICATION_FAILED', false], [59, 'UNKNOWN_PRODUCER_ID', false], [68, 'NON_EMPTY_GROUP', false],
  [69, 'GROUP_ID_NOT_FOUND', false], [70, 'FETCH_SESSION_ID_NOT_FOUND', true], [71, 'INVALID_FETCH_SESSION_EPOCH', true],
  [74, 'FENCED_LEADER_EPOCH', true], [75, 'UNKNOWN_LEADER_EPOCH', true], [76, 'UNSUPPORTED_COMPRESSION_TYPE', false],
  [78, 'OFFSET_NOT_AVAILABLE', true], [79, 'MEMBER_ID_REQUIRED', false], [81, 'GROUP_MAX_SIZE_REACHED', false],
  [82, 'FENCED_INSTANCE_ID', false], [87, 'INVALID_RECORD', false], [88, 'UNSTABLE_OFFSET_COMMIT', true],
  [89, 'THROTTLING_QUOTA_EXCEEDED', true], [90, 'PRODUCER_FENCED', false], [100, 'UNKNOWN_TOPIC_ID', true],
  [103, 'INCONSISTENT_TOPIC_ID', true], [110, 'FENCED_MEMBER_EPOCH', false], [111, 'UNRELEASED_INSTANCE_ID', false],
  [112, 'UNSUPPORTED_ASSIGNOR', false], [113, 'STALE_MEMBER_EPOCH', false], [120, 'TRANSACTION_ABORTABLE', false]
]

describe('Kafka error table', () => {
  it('agrees with PROTOCOL-NOTES §f', () => {
    for (const [code, name, retriable] of NOTES) {
      const e = errorByCode(code)
      assert.equal(e.name, name, `name of ${code}`)
      assert.equal(e.retriable, retriable, `retriable of ${name}`)
      assert.equal((ErrorCode as Record<string, number>)[name], code)
    }
  })

  it('has unique codes and names, sorted and contiguous from -1 to 135', () => {
    assert.equal(new Set(KAFKA_ERRORS.map((e) => e.code)).size, KAFKA_ERRORS.length)
    assert.equal(new Set(KAFKA_ERRORS.map((e) => e.name)).size, KAFKA_ERRORS.length)
    KAFKA_ERRORS.forEach((e, i) => assert.equal(e.code, i - 1))
    assert.equal(KAFKA_ERRORS.at(-1)!.code, 135)
  })

  it('has names in Kafka enum style and a default message for every error but NONE', () => {
    for (const e of KAFKA_ERRORS) {
      assert.match(e.name, /^[A-Z][A-Z0-9_]*$/)
      if (e.code === 0) assert.equal(e.message, '')
      else assert.ok(e.message.length > 0 && e.message.endsWith('.'), `message of ${e.name}`)
    }
  })

  it('gives Kafka\'s default messages', () => {
    assert.equal(errorByCode(ErrorCode.REQUEST_TIMED_OUT).message, 'The request timed out.')
    assert.equal(errorByCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).message, 'This server does not host this topic-partition.')
    assert.equal(errorByCode(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS).message, 'The coordinator is loading and hence can\'t process requests.')
  })

  it('maps names to codes with literal types', () => {
    const six: 6 = ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert.equal(six, 6)
    assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1)
    assert.equal(ErrorCode.TRANSACTION_ABORTABLE, 120)
    assert.equal(ErrorCode.SHARE_SESSION_LIMIT_REACHED, 133)
    assert.equal(Object.keys(ErrorCode).length, KAFKA_ERRORS.length)
  })

  it('is frozen', () => {
    assert.ok(Object.isFrozen(KAFKA_ERRORS))
    assert.ok(Object.isFrozen(KAFKA_ERRORS[7]))
    assert.ok(Object.isFrozen(ErrorCode))
    assert.throws(() => { (KAFKA_ERRORS[7] as { retriable: boolean }).retriable = false })
  })

  it('returns a synthetic, non-retriable entry for unknown codes and never throws', () => {
    for (const code of [-2, 136, 9999, 32767, -32768, 1.5, Number.NaN]) {
      const e = errorByCode(code)
      assert.equal(e.name, UNRECOGNIZED_ERROR_NAME)
      assert.equal(e.retriable, false)
      assert.ok(Object.is(e.code, code))
      assert.match(e.message, /Unrecognized Kafka error code/)
    }
  })
})

// Independent tables that ship with the client libraries in node_modules: @platformatic/kafka generates
// its table (codes to 127) from Kafka's protocol guide, whose Retriable column Errors.toHtml() derives
// from RetriableException; kafkajs keeps a hand-written one (codes to 82, some pre-KIP names).
describe('Kafka error table: cross-checks', () => {
  it('agrees with @platformatic/kafka on names, retriability and messages', () => {
    // Messages Kafka has since reworded; platformatic's generated table has the older text.
    const reworded = new Set(['INVALID_GROUP_ID', 'SASL_AUTHENTICATION_FAILED', 'GROUP_MAX_SIZE_REACHED'])
    let compared = 0
    for (const theirs of Object.values(protocolErrors)) {
      const ours = errorByCode(theirs.code)
      assert.equal(ours.name, theirs.id)
      assert.equal(ours.retriable, theirs.canRetry, `retriable of ${ours.name}`)
      if (!reworded.has(ours.name)) assert.equal(ours.message, theirs.message, `message of ${ours.name}`)
      compared++
    }
    assert.ok(compared >= 128)
  })

  it('agrees with kafkajs on retriability', () => {
    const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
      errorCodes: Array<{ code: number, retriable: boolean }>
    }
    assert.ok(errorCodes.length > 80)
    for (const theirs of errorCodes) assert.equal(errorByCode(theirs.code).retriable, theirs.retriable, `retriable of ${theirs.code}`)
  })
})

describe('KafkaProtocolError', () => {
  it('carries the code, name, retriability and server message', () => {
    const cause = new Error('root')
    const err = new KafkaProtocolError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'Leader is broker 2', { cause })
    assert.ok(err instanceof Error)
    assert.ok(err instanceof KafkaProtocolError)
    assert.equal(err.name, 'KafkaProtocolError')
    assert.equal(err.code, 6)
    assert.equal(err.errorName, 'NOT_LEADER_OR_FOLLOWER')
    assert.equal(err.retriable, true)
    assert.equal(err.errorMessage, 'Leader is broker 2')
    assert.equal(err.message, 'NOT_LEADER_OR_FOLLOWER (6): Leader is broker 2')
    assert.equal(err.cause, cause)
  })

  it('uses the default message when the server sent none or an empty one', () => {
    for (const sent of [undefined, null, '']) {
      const err = new KafkaProtocolError(ErrorCode.GROUP_AUTHORIZATION_FAILED, sent)
      assert.equal(err.message, 'GROUP_AUTHORIZATION_FAILED (30): Group authorization failed.')
      assert.equal(err.retriable, false)
      assert.equal(err.errorMessage, sent ?? null)
    }
  })

  it('accepts unknown codes', () => {
    const err = new KafkaProtocolError(4242)
    assert.equal(err.errorName, UNRECOGNIZED_ERROR_NAME)
    assert.equal(err.retriable, false)
    assert.equal(err.code, 4242)
  })

  it('is recognized across package copies by its brand, and not otherwise', () => {
    const foreign = { [Symbol.for('samsa.protocol.KafkaProtocolError')]: true }
    assert.ok(foreign instanceof KafkaProtocolError)
    assert.ok(!(new Error('x') instanceof KafkaProtocolError))
    assert.ok(!((null as unknown) instanceof KafkaProtocolError))
  })
})
