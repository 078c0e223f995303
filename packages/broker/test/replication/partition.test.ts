// A partition's leader and follower roles over a real log (topics/partition.ts), without brokers:
// the high watermark follows the followers' fetches, acks=all waiters complete or fail with
// Kafka's codes, a follower keeps the leader's offsets, and a replica that started an epoch as
// leader without writing in it drops that epoch when it follows again (else every fetch would
// report a divergence).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCode, buildRecordBatch } from '@samsa/protocol'
import { HandlePool, MemoryFileSystem, PartitionLog, logConfig } from '@samsa/storage'
import { initialPartitionState, type PartitionState } from '../../src/metadata/metadata-store.ts'
import { Partition } from '../../src/topics/partition.ts'

function partitionOn (nodeId: number, state: PartitionState): Partition {
  const fs = new MemoryFileSystem({ trackDurability: false })
  const log = PartitionLog.open({ fs, pool: new HandlePool(fs, 16), dir: `/data/${nodeId}/t-0`, topic: 't', partition: 0, config: logConfig({}), clean: true })
  return new Partition({ topic: 't', index: 0, log, nodeId, state })
}

function batch (count: number): Buffer {
  return buildRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestamp: 1 })), timestamp: 1 })
}

const RF3 = initialPartitionState([1, 2, 3])

test('leader: the high watermark moves with the followers\' fetches; acks=all completes when it passes', async () => {
  const p = partitionOn(1, RF3)
  p.becomeLeader(RF3)
  p.appendAsLeader(batch(4))
  assert.equal(p.highWatermark, 0)
  const waiting = p.awaitReplication(4, 2, 5000)
  assert.ok(waiting instanceof Promise)
  p.updateFollowerFetchState(2, 4, 1)
  assert.equal(p.highWatermark, 0, 'follower 3 has not fetched yet')
  p.updateFollowerFetchState(3, 2, 1)
  assert.equal(p.highWatermark, 2)
  p.updateFollowerFetchState(3, 4, 1)
  assert.equal(p.highWatermark, 4)
  assert.equal(await waiting, ErrorCode.NONE)
  assert.equal(p.updateFollowerFetchState(9, 4, 1), undefined, 'not a replica')
})

test('leader: acks=all waiters time out, and fail when leadership moves', async () => {
  const p = partitionOn(1, RF3)
  p.becomeLeader(RF3)
  p.appendAsLeader(batch(1))
  // The partition's timers are unref'd (they never hold a broker process open): keep this one alive.
  const keepAlive = setTimeout(() => undefined, 1000)
  assert.equal(await p.awaitReplication(1, 2, 20), ErrorCode.REQUEST_TIMED_OUT)
  clearTimeout(keepAlive)
  const waiting = p.awaitReplication(1, 2, 5000)
  p.becomeFollower({ ...RF3, leader: 2, leaderEpoch: 1, partitionEpoch: 1 })
  assert.equal(await waiting, ErrorCode.NOT_LEADER_OR_FOLLOWER)
  assert.throws(() => p.appendAsLeader(batch(1)), /does not lead/)
})

test('follower: appends keep the leader\'s offsets and epochs; its high watermark is the leader\'s capped by its log end', () => {
  const leader = partitionOn(1, RF3)
  leader.becomeLeader(RF3)
  leader.appendAsLeader(batch(3))
  leader.appendAsLeader(batch(2))
  const follower = partitionOn(2, RF3)
  follower.becomeFollower(RF3)
  const fetched = leader.log.read(0, { maxBytes: 1 << 20, maxOffset: leader.log.logEndOffset }).records
  follower.appendAsFollower(fetched)
  assert.equal(follower.log.logEndOffset, 5)
  assert.ok(follower.log.read(0, { maxBytes: 1 << 20, maxOffset: 5 }).records.equals(fetched))
  follower.updateFollowerOffsets(3, 0)
  assert.equal(follower.highWatermark, 3)
  follower.updateFollowerOffsets(9, 0)
  assert.equal(follower.highWatermark, 5)
})

test('an epoch started as leader and never written in is dropped when the replica follows again', () => {
  const p = partitionOn(2, RF3)
  p.becomeFollower(RF3)
  p.appendAsFollower((() => {
    const l = partitionOn(1, RF3)
    l.becomeLeader(RF3)
    l.appendAsLeader(batch(5))
    return l.log.read(0, { maxBytes: 1 << 20, maxOffset: 5 }).records
  })())
  // Led epoch 1 for a moment (stale metadata after a restart), then follows broker 3 in epoch 2.
  const led = { ...RF3, leader: 2, leaderEpoch: 1, partitionEpoch: 1 }
  p.becomeLeader(led)
  assert.equal(p.log.leaderEpochCache.latestEpoch, 1)
  p.becomeFollower({ ...RF3, leader: 3, leaderEpoch: 2, partitionEpoch: 2 })
  // The new leader says epoch 0 ends at 5 (it never had epoch 1): nothing to cut, but epoch 1 goes.
  p.truncateTo(5)
  assert.equal(p.log.logEndOffset, 5)
  assert.deepEqual(p.log.leaderEpochCache.entries.map((e) => e.epoch), [0])
})
