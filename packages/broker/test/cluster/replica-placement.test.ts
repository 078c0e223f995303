// Replica placement is Kafka's AdminUtils.assignReplicasToBrokers: the expected assignments
// below are the ones Kafka's own tests (ReplicaAssignmentTest, AdminRackAwareTest) assert.
import assert from 'node:assert/strict'
import test from 'node:test'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import { assignReplicasToBrokers, rackAlternatedBrokers } from '../../src/cluster/replica-placement.ts'

const noRacks = (ids: number[]): Array<{ nodeId: number, rack: string | null }> => ids.map((nodeId) => ({ nodeId, rack: null }))

test('rack-unaware: Kafka\'s assignment for 5 brokers, 10 partitions, RF 3, start index 0', () => {
  const assignment = assignReplicasToBrokers(10, 3, noRacks([0, 1, 2, 3, 4]), { startIndex: 0, replicaShift: 0 })
  assert.deepEqual(assignment, [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
    [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2]
  ])
})

test('rack-aware: brokers alternate by rack, and each partition spans three racks (Kafka\'s expected lists)', () => {
  const racks: Record<number, string> = { 0: 'rack1', 1: 'rack3', 2: 'rack3', 3: 'rack2', 4: 'rack2', 5: 'rack1' }
  const brokers = Object.entries(racks).map(([id, rack]) => ({ nodeId: Number(id), rack }))
  assert.deepEqual(rackAlternatedBrokers(brokers), [0, 3, 1, 5, 4, 2])
  assert.deepEqual(rackAlternatedBrokers(brokers.filter((b) => b.nodeId !== 5)), [0, 3, 1, 4, 2])
  const assignment = assignReplicasToBrokers(7, 3, brokers, { startIndex: 0, replicaShift: 0 })
  assert.deepEqual(assignment, [[0, 3, 1], [3, 1, 5], [1, 5, 4], [5, 4, 2], [4, 2, 0], [2, 0, 3], [0, 4, 2]])
  for (const replicas of assignment) assert.equal(new Set(replicas.map((r) => racks[r])).size, 3)
})

test('continuing placement (CreatePartitions) and random start spread leaders evenly', () => {
  const brokers = noRacks([1, 2, 3])
  for (let trial = 0; trial < 20; trial++) {
    const assignment = assignReplicasToBrokers(6, 2, brokers)
    const leaders = new Map<number, number>()
    for (const r of assignment) {
      assert.equal(new Set(r).size, 2, 'no broker twice')
      leaders.set(r[0]!, (leaders.get(r[0]!) ?? 0) + 1)
    }
    assert.deepEqual([...leaders.values()], [2, 2, 2])
  }
  assert.deepEqual(assignReplicasToBrokers(2, 1, brokers, { firstPartition: 3, startIndex: 0, replicaShift: 0 }), [[1], [2]])
})

test('a replication factor above the broker count is INVALID_REPLICATION_FACTOR with Kafka\'s message', () => {
  assert.throws(() => assignReplicasToBrokers(1, 4, noRacks([1, 2, 3])), (e: unknown) =>
    e instanceof KafkaProtocolError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR &&
    e.errorMessage === 'Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached because only 3 broker(s) are registered.')
  assert.throws(() => assignReplicasToBrokers(1, 0, noRacks([1])), (e: unknown) => e instanceof KafkaProtocolError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR)
})
