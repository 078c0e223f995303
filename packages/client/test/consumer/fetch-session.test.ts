/**
 * The client side of KIP-227 fetch sessions on its own: full then incremental requests, what an
 * incremental request carries (changes, additions, forgotten partitions), and the fall-backs
 * (errors, a broker without session room, sessions off).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FetchSessionHandler, type SessionPartition } from '../../src/consumer/fetch-session.ts'

function p (partition: number, fetchOffset: number, extra: Partial<SessionPartition> = {}): SessionPartition {
  return { key: `t\u0000${partition}`, topic: 't', topicId: 'id', partition, fetchOffset, maxBytes: 1000, leaderEpoch: 0, ...extra }
}

function wanted (...list: SessionPartition[]): Map<string, SessionPartition> {
  return new Map(list.map((x) => [x.key, x]))
}

const ON = { sessions: true, topicIds: true }

test('a full request opens the session; later requests carry only changes', () => {
  const h = new FetchSessionHandler()
  const first = h.build(wanted(p(0, 0), p(1, 0)), ON)
  assert.deepEqual([first.sessionId, first.sessionEpoch, first.full, first.toSend.length], [0, 0, true, 2])
  h.handleResponse(first, 77)
  assert.deepEqual([h.sessionId, h.sessionEpoch], [77, 1])

  // Partition 0 advanced, 1 did not, 2 is new.
  const second = h.build(wanted(p(0, 10), p(1, 0), p(2, 5)), ON)
  assert.deepEqual([second.sessionId, second.sessionEpoch, second.full], [77, 1, false])
  assert.deepEqual(second.toSend.map((x) => x.partition), [0, 2])
  assert.deepEqual(second.toForget, [])
  h.handleResponse(second, 77)
  assert.equal(h.sessionEpoch, 2)

  // Nothing changed: an empty incremental request (a long poll over the whole session).
  const third = h.build(wanted(p(0, 10), p(1, 0), p(2, 5)), ON)
  assert.deepEqual([third.toSend.length, third.toForget.length], [0, 0])
  h.handleResponse(third, 77)

  // Partition 1 is no longer wanted (paused, revoked): forgotten. A new leader epoch is a change.
  const fourth = h.build(wanted(p(0, 10, { leaderEpoch: 1 }), p(2, 5)), ON)
  assert.deepEqual(fourth.toSend.map((x) => x.partition), [0])
  assert.deepEqual(fourth.toForget.map((x) => x.partition), [1])
})

test('errors reset to a full request; an unknown session is forgotten', () => {
  const h = new FetchSessionHandler()
  h.handleResponse(h.build(wanted(p(0, 0)), ON), 5)
  h.handleError(false)
  const replace = h.build(wanted(p(0, 3)), ON)
  assert.deepEqual([replace.sessionId, replace.sessionEpoch, replace.full], [5, 0, true])
  h.handleError(true)
  const fresh = h.build(wanted(p(0, 3)), ON)
  assert.deepEqual([fresh.sessionId, fresh.sessionEpoch, fresh.full], [0, 0, true])
})

test('a broker without room for sessions gets full requests that keep asking for one', () => {
  const h = new FetchSessionHandler()
  const first = h.build(wanted(p(0, 0)), ON)
  h.handleResponse(first, 0)
  const second = h.build(wanted(p(0, 4)), ON)
  assert.deepEqual([second.sessionId, second.sessionEpoch, second.full], [0, 0, true])
})

test('sessions off (or Fetch below v7): sessionless full fetches, epoch -1', () => {
  const h = new FetchSessionHandler()
  const r = h.build(wanted(p(0, 0), p(1, 0)), { sessions: false, topicIds: false })
  assert.deepEqual([r.sessionId, r.sessionEpoch, r.full, r.toSend.length], [0, -1, true, 2])
  h.handleResponse(r, 0)
  assert.equal(h.build(wanted(p(0, 1)), { sessions: false, topicIds: false }).sessionEpoch, -1)
})

test('switching between topic names and ids starts a new session', () => {
  const h = new FetchSessionHandler()
  h.handleResponse(h.build(wanted(p(0, 0)), { sessions: true, topicIds: false }), 9)
  const r = h.build(wanted(p(0, 1)), ON)
  assert.deepEqual([r.sessionId, r.sessionEpoch, r.full], [9, 0, true])
})
