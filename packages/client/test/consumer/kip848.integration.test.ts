/**
 * Consumer groups with the KIP-848 protocol (`groupProtocol: 'consumer'`) against an in-process
 * Samsa broker: members joining and leaving with the server assignors ('uniform', 'range'),
 * partitions revoked before their new owner acquires them, commits carrying the member epoch
 * (OffsetCommit v9), a crashed member fenced after the session timeout, a static member's
 * restart, and an assignor the broker does not have.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ErrorCode } from '@samsa/protocol'
import type { OffsetCommitRequest } from '@samsa/protocol/messages/offset-commit'
import type { TestBroker } from '@samsa/testkit'
import { Admin } from '../../src/admin/admin.ts'
import { Consumer } from '../../src/consumer/consumer.ts'
import type { ConsumerOptions } from '../../src/consumer/options.ts'
import { KafkaResponseError } from '../../src/errors.ts'
import { Producer } from '../../src/producer/producer.ts'
import { uniqueTopic } from '../helpers.ts'
import { type Member, names, partitionsOf, runMember, sleep, startGroupBroker, take, traceRequests, waitFor } from './helpers.ts'

let broker: TestBroker
let admin: Admin
let producer: Producer

before(async () => {
  broker = await startGroupBroker()
  admin = new Admin({ bootstrapServers: broker.bootstrap })
  producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 1 })
})

after(async () => {
  await producer.close()
  await admin.close()
  await broker.stop()
})

function consumer (groupId: string, options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({
    bootstrapServers: broker.bootstrap,
    groupId,
    groupProtocol: 'consumer',
    fromBeginning: true,
    fetchMaxWaitMs: 100,
    autoCommitIntervalMs: 200,
    ...options
  })
}

async function topicWith (prefix: string, partitions: number, records: number): Promise<string> {
  const topic = uniqueTopic(prefix)
  await admin.createTopics([{ name: topic, numPartitions: partitions }])
  if (records > 0) await producer.send(Array.from({ length: records }, (_, i) => ({ topic, partition: i % partitions, value: `v${i}` })))
  return topic
}

test('members share partitions with the uniform assignor; revoked before acquired; leave and crash', { timeout: 40_000 }, async (t) => {
  const topic = await topicWith('k848', 6, 60)
  const groupId = uniqueTopic('k848-group')
  // Every ownership change, in order: a partition must be revoked by its owner before another acquires it.
  const owners = new Map<string, number>()
  const violations: string[] = []
  const members: Member[] = []
  const join = (i: number): void => {
    const c = consumer(groupId, { groupRemoteAssignor: 'uniform' })
    c.subscribe([topic], {
      listener: {
        onPartitionsAssigned: (ps) => {
          for (const p of names(ps)) {
            if (owners.has(p)) violations.push(`${p} acquired by ${i} while owned by ${owners.get(p)}`)
            owners.set(p, i)
          }
        },
        onPartitionsRevoked: (ps) => { for (const p of names(ps)) owners.delete(p) },
        onPartitionsLost: (ps) => { for (const p of names(ps)) owners.delete(p) }
      }
    })
    members.push(runMember(c))
  }
  t.after(async () => { for (const m of members) await m.consumer.close() })
  join(0)
  await waitFor(() => members[0]!.consumer.assignment().length === 6, 'the first member owning all 6')
  join(1)
  join(2)
  await waitFor(() => members.every((m) => m.consumer.assignment().length === 2), '2 partitions each')
  assert.deepEqual(members.flatMap((m) => names(m.consumer.assignment())).sort(), [0, 1, 2, 3, 4, 5].map((p) => `${topic}-${p}`).sort())
  await waitFor(() => new Set(members.flatMap((m) => m.records.map((r) => `${r.partition}:${r.offset}`))).size === 60, 'all 60 records read')
  assert.ok(members.every((m) => m.consumer.generationId > 0), 'member epochs')

  await members[2]!.consumer.close()
  await waitFor(() => members.slice(0, 2).every((m) => m.consumer.assignment().length === 3), '3 each after a leave')
  assert.deepEqual(violations, [])
  // A crash: fenced after the broker's session timeout (2.5 s here); it never gives its partitions up.
  await members[1]!.consumer.cluster.close()
  for (const [p, owner] of owners) if (owner === 1) owners.delete(p)
  await waitFor(() => members[0]!.consumer.assignment().length === 6, 'the survivor owning all 6', 10_000)
  assert.deepEqual(violations, [])
})

test('the range server assignor gives contiguous ranges; commits carry the member epoch (OffsetCommit v9)', { timeout: 30_000 }, async (t) => {
  const topic = await topicWith('k848-range', 4, 8)
  const groupId = uniqueTopic('k848-range-group')
  const trace = traceRequests('OffsetCommit')
  t.after(() => trace.stop())
  const commits = trace.calls as Array<{ apiVersion: number, request: unknown }>
  const a = runMember(consumer(groupId, { groupRemoteAssignor: 'range' }))
  const b = runMember(consumer(groupId, { groupRemoteAssignor: 'range' }))
  t.after(async () => { await a.consumer.close(); await b.consumer.close() })
  a.consumer.subscribe([topic])
  b.consumer.subscribe([topic])
  await waitFor(() => a.consumer.assignment().length === 2 && b.consumer.assignment().length === 2, '2 partitions each')
  for (const m of [a, b]) {
    const ps = partitionsOf(m.consumer.assignment())
    assert.equal(ps[1]! - ps[0]!, 1, `contiguous: ${ps.join(',')}`)
  }
  await waitFor(() => a.records.length + b.records.length === 8, 'all 8 records read')
  await waitFor(() => commits.length > 0, 'an auto-commit')
  assert.ok(commits.every((c) => c.apiVersion >= 9))
  const epochs = new Set([a.consumer.generationId, b.consumer.generationId])
  assert.ok(commits.some((c) => {
    const request = c.request as OffsetCommitRequest
    return epochs.has(request.generationIdOrMemberEpoch) && request.memberId !== ''
  }))
  await a.consumer.commit()
  const committed = await a.consumer.committed(a.consumer.assignment())
  assert.deepEqual(committed.map((c) => c.offset), [2n, 2n])
})

test('a static member restarts and gets its partitions back; an unknown server assignor is fatal', { timeout: 30_000 }, async (t) => {
  const topic = await topicWith('k848-static', 4, 0)
  const groupId = uniqueTopic('k848-static-group')
  const a = runMember(consumer(groupId, { groupInstanceId: 'a' }))
  const b = runMember(consumer(groupId, { groupInstanceId: 'b' }))
  t.after(() => b.consumer.close())
  a.consumer.subscribe([topic])
  b.consumer.subscribe([topic])
  await waitFor(() => a.consumer.assignment().length === 2 && b.consumer.assignment().length === 2, '2 partitions each')
  const mine = names(a.consumer.assignment())
  const theirs = names(b.consumer.assignment())
  await a.consumer.close()
  await sleep(300)
  assert.deepEqual(names(b.consumer.assignment()), theirs, 'the static member\'s partitions wait for it')
  const a2 = runMember(consumer(groupId, { groupInstanceId: 'a' }))
  t.after(() => a2.consumer.close())
  a2.consumer.subscribe([topic])
  await waitFor(() => a2.consumer.assignment().length === 2, 'the restarted member owning partitions')
  assert.deepEqual(names(a2.consumer.assignment()), mine)

  const bad = consumer(uniqueTopic('k848-bad'), { groupRemoteAssignor: 'sticky' })
  t.after(() => bad.close())
  bad.subscribe([topic])
  await assert.rejects(take(bad, 1), (e: unknown) => e instanceof KafkaResponseError && e.errorCode === ErrorCode.UNSUPPORTED_ASSIGNOR)
})
