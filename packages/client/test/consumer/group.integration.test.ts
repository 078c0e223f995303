/**
 * Consumer groups with the classic protocol against an in-process Samsa broker whose session
 * timeouts may be short: three members sharing six partitions, one leaving and one crashing;
 * KIP-394 member ids; commit on revocation; cooperative-sticky rebalances that move only what
 * must move; a static member restarting without a rebalance; heartbeats while the application is
 * slow, and leaving the group when it stops reading for maxPollIntervalMs.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { ErrorCode } from '@samsa/protocol'
import type { JoinGroupRequest, JoinGroupResponse } from '@samsa/protocol/messages/join-group'
import type { TestBroker } from '@samsa/testkit'
import { Admin } from '../../src/admin/admin.ts'
import { Consumer } from '../../src/consumer/consumer.ts'
import type { ConsumerOptions } from '../../src/consumer/options.ts'
import type { TopicPartition } from '../../src/consumer/types.ts'
import { Producer } from '../../src/producer/producer.ts'
import { uniqueTopic } from '../helpers.ts'
import { type Member, names, runMember, sleep, startGroupBroker, take, traceRequests, waitFor } from './helpers.ts'

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

const SESSION_TIMEOUT_MS = 1500

function consumer (groupId: string, options: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({
    bootstrapServers: broker.bootstrap,
    groupId,
    fromBeginning: true,
    fetchMaxWaitMs: 100,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: 100,
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

function owned (members: readonly Member[]): string[][] {
  return members.map((m) => names(m.consumer.assignment()))
}

test('three members share six partitions; one leaves, one crashes, the last takes over within the session timeout', { timeout: 40_000 }, async (t) => {
  const topic = await topicWith('share', 6, 60)
  const groupId = uniqueTopic('share-group')
  const members = [0, 1, 2].map(() => runMember(consumer(groupId)))
  t.after(async () => { for (const m of members) await m.consumer.close() })
  for (const m of members) m.consumer.subscribe([topic])
  await waitFor(() => members.every((m) => m.consumer.assignment().length === 2), '2 partitions each')
  assert.deepEqual(owned(members).flat().sort(), [0, 1, 2, 3, 4, 5].map((p) => `${topic}-${p}`).sort())
  await waitFor(() => members.reduce((n, m) => n + m.records.length, 0) >= 60, 'all 60 records read')

  // An orderly leave: the two others take its partitions.
  await members[2]!.consumer.close()
  assert.equal(await members[2]!.done, undefined)
  await waitFor(() => members.slice(0, 2).every((m) => m.consumer.assignment().length === 3), '3 partitions each after a leave')

  // A crash: member 1 stops heartbeating without leaving (its connections are closed).
  await members[1]!.consumer.cluster.close()
  const crashedAt = Date.now()
  await waitFor(() => members[0]!.consumer.assignment().length === 6, 'the survivor owning all 6', SESSION_TIMEOUT_MS + 8000)
  const tookOver = Date.now() - crashedAt
  assert.ok(tookOver < SESSION_TIMEOUT_MS + 5000, `took over after ${tookOver} ms`)
  // Every record was read by some member, and the survivor reads new ones on every partition.
  const offsets = new Set(members.flatMap((m) => m.records.map((r) => `${r.partition}:${r.offset}`)))
  assert.equal(offsets.size, 60)
  const before = members[0]!.records.length
  await producer.send(Array.from({ length: 6 }, (_, p) => ({ topic, partition: p, value: 'after' })))
  await waitFor(() => members[0]!.records.length >= before + 6, 'the survivor reading new records')
})

test('KIP-394: a new member joins again with the member id the coordinator gave it', { timeout: 20_000 }, async (t) => {
  const topic = await topicWith('kip394', 1, 1)
  const trace = traceRequests('JoinGroup')
  t.after(() => trace.stop())
  const c = consumer(uniqueTopic('kip394-group'))
  t.after(() => c.close())
  c.subscribe(topic)
  assert.equal((await take(c, 1)).length, 1)
  const joins = trace.calls.filter((ctx) => ctx.result !== undefined).map((ctx) => ({ memberId: (ctx.request as JoinGroupRequest).memberId, errorCode: (ctx.result as JoinGroupResponse).errorCode, version: ctx.apiVersion }))
  assert.ok(joins.length >= 2)
  assert.ok(joins[0]!.version >= 4)
  assert.deepEqual([joins[0]!.memberId, joins[0]!.errorCode], ['', ErrorCode.MEMBER_ID_REQUIRED])
  assert.equal(joins[1]!.errorCode, 0)
  assert.equal(joins[1]!.memberId, c.memberId)
  assert.ok(c.memberId.startsWith('samsa-'))
  assert.ok(c.generationId >= 1)
})

test('an eager rebalance commits before revoking: the new owner continues where the old one stopped', { timeout: 30_000 }, async (t) => {
  const topic = await topicWith('handover', 2, 40)
  const groupId = uniqueTopic('handover-group')
  const events: string[] = []
  const first = consumer(groupId)
  t.after(() => first.close())
  first.subscribe([topic], {
    listener: {
      onPartitionsAssigned: (ps) => { events.push(`assigned ${names(ps).join(',')}`) },
      onPartitionsRevoked: (ps) => { events.push(`revoked ${names(ps).join(',')}`) }
    }
  })
  const a = runMember(first)
  await waitFor(() => a.records.length === 40, 'the first member reading all 40')
  const second = runMember(consumer(groupId))
  t.after(() => second.consumer.close())
  second.consumer.subscribe([topic])
  await waitFor(() => first.assignment().length === 1 && second.consumer.assignment().length === 1, 'one partition each')
  assert.deepEqual(events, [`assigned ${topic}-0,${topic}-1`, `revoked ${topic}-0,${topic}-1`, `assigned ${names(first.assignment())[0]}`])
  await sleep(300)
  assert.equal(second.records.length, 0, 'the second member re-read records the first had processed')
  await producer.send([{ topic, partition: 0, value: 'x' }, { topic, partition: 1, value: 'y' }])
  await waitFor(() => a.records.length === 41 && second.records.length === 1, 'one new record each')
})

test('cooperative-sticky: only the partitions that move are revoked, in two rebalances', { timeout: 30_000 }, async (t) => {
  const topic = await topicWith('coop', 6, 0)
  const groupId = uniqueTopic('coop-group')
  const log: Array<{ member: number, kind: string, partitions: string[] }> = []
  const members: Member[] = []
  const join = (i: number): void => {
    const c = consumer(groupId, { partitionAssignors: ['cooperative-sticky'] })
    c.subscribe([topic], {
      listener: {
        onPartitionsAssigned: (ps) => { log.push({ member: i, kind: 'assigned', partitions: names(ps) }) },
        onPartitionsRevoked: (ps) => { log.push({ member: i, kind: 'revoked', partitions: names(ps) }) },
        onPartitionsLost: (ps) => { log.push({ member: i, kind: 'lost', partitions: names(ps) }) }
      }
    })
    members.push(runMember(c))
  }
  t.after(async () => { for (const m of members) await m.consumer.close() })
  join(0)
  join(1)
  await waitFor(() => members.every((m) => m.consumer.assignment().length === 3), '3 partitions each')
  const before = owned(members)
  log.length = 0
  join(2)
  await waitFor(() => members.every((m) => m.consumer.assignment().length === 2), '2 partitions each')
  const after = owned(members)
  // The first two kept two of their three partitions each; the newcomer got the other two.
  for (const i of [0, 1]) {
    assert.equal(after[i]!.filter((p) => before[i]!.includes(p)).length, 2, `member ${i} kept 2`)
    const revoked = log.filter((e) => e.member === i && e.kind === 'revoked')
    assert.equal(revoked.length, 1)
    assert.equal(revoked[0]!.partitions.length, 1, `member ${i} revoked only what moved`)
    assert.ok(!log.some((e) => e.member === i && e.kind === 'lost'))
  }
  assert.deepEqual(after[2]!.sort(), log.filter((e) => e.member !== 2 && e.kind === 'revoked').flatMap((e) => e.partitions).sort())
  // Members 0 and 1 never got anything new: their assignments only shrank.
  assert.ok(log.filter((e) => e.member !== 2 && e.kind === 'assigned').every((e) => e.partitions.length === 0))
})

test('a static member restarting within the session timeout keeps its partitions, without a rebalance', { timeout: 30_000 }, async (t) => {
  const topic = await topicWith('static', 4, 0)
  const groupId = uniqueTopic('static-group')
  const revoked: string[] = []
  const make = (instance: string): Consumer => {
    const c = consumer(groupId, { groupInstanceId: instance, sessionTimeoutMs: 6000, partitionAssignors: ['range'] })
    c.subscribe([topic], { listener: { onPartitionsRevoked: (ps) => { revoked.push(...names(ps).map((p) => `${instance}:${p}`)) } } })
    return c
  }
  const a = runMember(make('instance-a'))
  const b = runMember(make('instance-b'))
  t.after(() => b.consumer.close())
  await waitFor(() => a.consumer.assignment().length === 2 && b.consumer.assignment().length === 2, '2 partitions each')
  const aPartitions = names(a.consumer.assignment())
  const bGeneration = b.consumer.generationId
  const bMember = b.consumer.memberId
  // A static member's close does not leave the group.
  await a.consumer.close()
  revoked.length = 0
  const a2 = runMember(make('instance-a'))
  t.after(() => a2.consumer.close())
  await waitFor(() => a2.consumer.assignment().length === 2, 'the restarted member owning its partitions')
  assert.deepEqual(names(a2.consumer.assignment()), aPartitions)
  await sleep(500)
  assert.equal(b.consumer.generationId, bGeneration, 'no rebalance')
  assert.equal(b.consumer.memberId, bMember)
  assert.deepEqual(revoked, [])
  const [group] = await admin.describeGroups([groupId])
  assert.deepEqual(group!.members.map((m) => m.groupInstanceId).sort(), ['instance-a', 'instance-b'])
})

test('heartbeats go on while the application is slow; it leaves the group when it stops reading for maxPollIntervalMs', { timeout: 40_000 }, async (t) => {
  const topic = await topicWith('slow', 2, 0)
  const groupId = uniqueTopic('slow-group')
  const lost: TopicPartition[][] = []
  const slow = consumer(groupId, { maxPollIntervalMs: 2500 })
  slow.subscribe([topic], { listener: { onPartitionsLost: (ps) => { lost.push(ps) } } })
  const other = consumer(groupId, { maxPollIntervalMs: 2500 })
  other.subscribe([topic])
  const s = runMember(slow)
  const o = runMember(other)
  t.after(async () => { await slow.close(); await other.close() })
  await waitFor(() => slow.assignment().length === 1 && other.assignment().length === 1, 'one partition each')
  const generation = slow.generationId
  const slowPartition = slow.assignment()[0]!

  // 2 s per record: longer than the session timeout (1.5 s), shorter than maxPollIntervalMs.
  s.delayMs = 2000
  await producer.send({ ...slowPartition, value: 'slow 1' })
  await waitFor(() => s.records.length === 1, 'the slow member reading')
  await sleep(1800)
  assert.equal(slow.generationId, generation, 'the slow member kept its membership')
  assert.deepEqual(other.assignment().length, 1)

  // 5 s for one record: past maxPollIntervalMs; the other member takes over.
  s.delayMs = 5000
  await producer.send({ ...slowPartition, value: 'slow 2' })
  await waitFor(() => s.records.length === 2, 'the slow member reading the second record')
  await waitFor(() => other.assignment().length === 2, 'the other member taking over', 6000)
  // At least once: the record being processed when the member left is read again by the new owner.
  await waitFor(() => o.records.length === 1, 'the new owner reading the unprocessed record')
  assert.deepEqual(o.records.map((r) => r.value?.toString()), ['slow 2'])
  // Back to reading: the slow member's partitions were lost; it rejoins and gets one again.
  s.delayMs = 0
  await waitFor(() => slow.assignment().length === 1 && other.assignment().length === 1, 'one partition each again', 15_000)
  assert.equal(lost.length, 1)
  assert.deepEqual(lost[0], [slowPartition])
})
