/**
 * `samsa group ...` with a live kafkajs consumer group: list, describe with members and lag,
 * reset-offsets refused while the group is active, dry run vs --execute once it is empty,
 * and delete.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Consumer, Kafka, logLevel } from 'kafkajs'
import { createConsumer } from '@samsa/client'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { type CliResult, type FakeIoOptions, cliFor, tableRows, uniqueName, waitFor } from './helpers.ts'

let broker: TestBroker
let cli: (argv: string[], options?: FakeIoOptions) => Promise<CliResult>
let consumer: Consumer | null = null

before(async () => {
  broker = await startBroker({ config: { 'auto.create.topics.enable': false } })
  cli = cliFor(broker.bootstrap)
})

after(async () => {
  // kafkajs retries against a stopped broker: disconnect it first.
  await consumer?.disconnect()
  await broker.stop()
})

interface OffsetRow { topic: string, partition: number, currentOffset: number | null, logEndOffset: number | null, lag: number | null, memberId: string | null, clientId: string | null, host: string | null }

async function offsets (group: string): Promise<OffsetRow[]> {
  const r = await cli(['group', 'describe', group, '--format', 'json'])
  assert.equal(r.code, 0, r.stderr)
  return r.json().offsets
}

test('a live kafkajs group: list, describe with lag, reset refused while active, reset and delete once empty', { timeout: 60_000 }, async () => {
  const topic = uniqueName('grp')
  const group = uniqueName('group')
  assert.equal((await cli(['topic', 'create', topic, '-p', '3'])).code, 0)
  const input = Array.from({ length: 30 }, (_, i) => JSON.stringify({ key: `k${i}`, value: `v${i}`, partition: i % 3, timestamp: 1_000_000 + i * 1000 })).join('\n')
  assert.equal((await cli(['produce', topic, '--json'], { stdin: input })).code, 0)

  const kafka = new Kafka({ clientId: 'cli-test-client', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING })
  consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 })
  let seen = 0
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ autoCommitInterval: 100, eachMessage: async () => { seen++; await Promise.resolve() } })
  await waitFor(async () => {
    if (seen < 30) return undefined
    const rows = await offsets(group)
    return rows.length === 3 && rows.every((r) => r.currentOffset === 10) ? true : undefined
  }, 30_000, 'the group to consume and commit everything')
  consumer.pause([{ topic }])
  assert.equal((await cli(['produce', topic, '--partition', '0'], { stdin: 'a\nb\nc\nd\ne\n' })).code, 0)

  const list = await cli(['group', 'list'])
  assert.equal(list.code, 0)
  assert.deepEqual(tableRows(list.stdout).find((r) => r[0] === group), [group, '1', 'Stable', 'classic', 'consumer'])
  const listed = (await cli(['group', 'list', '--format', 'json'])).json()
  assert.deepEqual(listed.find((g: { groupId: string }) => g.groupId === group), { groupId: group, protocolType: 'consumer', groupState: 'Stable', groupType: 'classic', coordinatorId: 1 })
  assert.ok((await cli(['group', 'list', '--state', 'Empty', '--format', 'json'])).json().every((g: { groupId: string }) => g.groupId !== group))

  const described = await cli(['group', 'describe', group])
  assert.equal(described.code, 0, described.stderr)
  const text = described.stdout
  assert.deepEqual(tableRows(text.slice(0, text.indexOf('\n\n'))), [
    ['GROUP', group], ['COORDINATOR', `1 (${broker.host}:${broker.port})`], ['STATE', 'Stable'], ['TYPE', 'classic'],
    ['PROTOCOL-TYPE', 'consumer'], ['PROTOCOL', 'RoundRobinAssigner'], ['MEMBERS', '1'], ['TOTAL-LAG', '5']
  ])
  const members = text.slice(text.indexOf('MEMBERS\n=======\n') + 'MEMBERS\n=======\n'.length, text.indexOf('\n\nOFFSETS'))
  const memberRows = tableRows(members)
  assert.deepEqual(memberRows[0], ['MEMBER-ID', 'INSTANCE-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'])
  assert.match(memberRows[1]![0]!, /^cli-test-client-/)
  assert.deepEqual(memberRows[1]!.slice(1), ['-', 'cli-test-client', '/127.0.0.1', `${topic}:0,1,2`])
  const offsetRows = tableRows(text.slice(text.indexOf('OFFSETS\n=======\n') + 'OFFSETS\n=======\n'.length))
  assert.deepEqual(offsetRows[0], ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'MEMBER-ID', 'CLIENT-ID', 'HOST'])
  assert.deepEqual(offsetRows.slice(1).map((r) => [r[0], r[1], r[2], r[3], r[4], r[6], r[7]]), [
    [topic, '0', '10', '15', '5', 'cli-test-client', '/127.0.0.1'],
    [topic, '1', '10', '10', '0', 'cli-test-client', '/127.0.0.1'],
    [topic, '2', '10', '10', '0', 'cli-test-client', '/127.0.0.1']
  ])
  const json = (await cli(['group', 'describe', group, '--format', 'json'])).json()
  assert.equal(json.state, 'Stable')
  assert.equal(json.protocolType, 'consumer')
  assert.equal(json.protocol, 'RoundRobinAssigner')
  assert.deepEqual(json.coordinator, { id: 1, host: broker.host, port: broker.port })
  assert.equal(json.totalLag, 5)
  assert.equal(json.members[0].clientId, 'cli-test-client')
  assert.deepEqual(json.members[0].assignment, [{ topic, partitions: [0, 1, 2] }])
  assert.deepEqual(json.offsets[0], { topic, partition: 0, currentOffset: 10, logEndOffset: 15, lag: 5, memberId: json.members[0].memberId, clientId: 'cli-test-client', host: '/127.0.0.1' })

  // Active: resetting and deleting are refused.
  for (const extra of [[], ['--execute']]) {
    const refused = await cli(['group', 'reset-offsets', group, '--topic', topic, '--to-earliest', ...extra])
    assert.equal(refused.code, 1)
    assert.equal(refused.stdout, '')
    assert.equal(refused.stderr, `samsa: group '${group}' is active (state Stable, 1 member): offsets can only be reset while it has no members; stop its consumers first\n`)
  }
  const notDeleted = await cli(['group', 'delete', group])
  assert.equal(notDeleted.code, 1)
  assert.deepEqual(tableRows(notDeleted.stdout)[1], [group, 'NON_EMPTY_GROUP: The group is not empty'])

  await consumer.disconnect()
  consumer = null
  await waitFor(async () => (await cli(['group', 'describe', group, '--format', 'json'])).json().state === 'Empty' ? true : undefined, 10_000, 'the group to empty')

  // Dry run: the plan, nothing changed.
  const dry = await cli(['group', 'reset-offsets', group, '--topic', topic, '--to-earliest'])
  assert.equal(dry.code, 0, dry.stderr)
  assert.deepEqual(tableRows(dry.stdout), [
    ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'],
    [group, topic, '0', '10', '0'],
    [group, topic, '1', '10', '0'],
    [group, topic, '2', '10', '0']
  ])
  assert.equal(dry.stderr, 'Dry run: nothing changed (add --execute to apply)\n')
  assert.deepEqual((await offsets(group)).map((r) => r.currentOffset), [10, 10, 10])

  // Execute.
  const executed = await cli(['group', 'reset-offsets', group, '--topic', topic, '--to-earliest', '--execute'])
  assert.equal(executed.code, 0, executed.stderr)
  assert.equal(executed.stderr, `Reset 3 offsets of group '${group}'\n`)
  let rows = await offsets(group)
  assert.deepEqual(rows.map((r) => [r.currentOffset, r.logEndOffset, r.lag, r.memberId]), [[0, 15, 15, null], [0, 10, 10, null], [0, 10, 10, null]])

  // Shifts, offsets (clamped), times, latest, and some partitions only.
  assert.equal((await cli(['group', 'reset-offsets', group, '--topic', `${topic}:0`, '--shift-by', '3', '--execute'])).code, 0)
  assert.equal((await cli(['group', 'reset-offsets', group, '--topic', `${topic}:1,2`, '--to-offset', '100', '--execute'])).code, 0)
  rows = await offsets(group)
  assert.deepEqual(rows.map((r) => r.currentOffset), [3, 10, 10])
  const back = await cli(['group', 'reset-offsets', group, '--topic', `${topic}:1`, '--shift-by', '-4', '--execute', '--format', 'json'])
  assert.deepEqual(back.json(), { groupId: group, executed: true, offsets: [{ topic, partition: 1, currentOffset: 10, newOffset: 6 }] })
  // Partition 2 holds records i = 2, 5, 8...: the first at or after t=1,011,000 (i = 11) is offset 3.
  const byTime = await cli(['group', 'reset-offsets', group, '--topic', `${topic}:2`, '--to-datetime', '1011000', '--format', 'json'])
  assert.deepEqual(byTime.json().offsets, [{ topic, partition: 2, currentOffset: 10, newOffset: 3 }])
  assert.equal(byTime.json().executed, false)
  const iso = await cli(['group', 'reset-offsets', group, '--topic', `${topic}:2`, '--to-datetime', new Date(1_011_000).toISOString(), '--format', 'json'])
  assert.equal(iso.json().offsets[0].newOffset, 3)
  const latest = await cli(['group', 'reset-offsets', group, '--all-topics', '--to-latest', '--execute', '--format', 'json'])
  assert.deepEqual(latest.json().offsets.map((o: { newOffset: number }) => o.newOffset), [15, 10, 10])
  assert.equal((await cli(['group', 'describe', group, '--format', 'json'])).json().totalLag, 0)

  // A new group may be given offsets before it ever runs.
  const fresh = uniqueName('fresh')
  const seeded = await cli(['group', 'reset-offsets', fresh, '--topic', topic, '--to-offset', '5', '--execute'])
  assert.equal(seeded.code, 0, seeded.stderr)
  assert.deepEqual((await offsets(fresh)).map((r) => r.currentOffset), [5, 5, 5])
  const noOffsets = await cli(['group', 'reset-offsets', uniqueName('none'), '--all-topics', '--to-earliest'])
  assert.equal(noOffsets.code, 1)
  assert.match(noOffsets.stderr, /has no committed offsets; name the topics with --topic/)
  const badPartition = await cli(['group', 'reset-offsets', fresh, '--topic', `${topic}:9`, '--to-earliest'])
  assert.equal(badPartition.code, 1)
  assert.equal(badPartition.stderr, `samsa: topic '${topic}' has no partition 9 (it has 3)\n`)
  const unknownTopic = await cli(['group', 'reset-offsets', fresh, '--topic', 'no-such-topic', '--to-earliest'])
  assert.equal(unknownTopic.code, 1)
  assert.equal(unknownTopic.stderr, "samsa: topic 'no-such-topic': UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition\n")

  // Delete.
  const deleted = await cli(['group', 'delete', group, fresh])
  assert.equal(deleted.code, 0, deleted.stdout + deleted.stderr)
  assert.deepEqual(tableRows(deleted.stdout), [['GROUP', 'STATUS'], [group, 'OK'], [fresh, 'OK']])
  const gone = await cli(['group', 'describe', group])
  assert.equal(gone.code, 1)
  assert.equal(gone.stderr, `samsa: group '${group}' does not exist\n`)
  const again = await cli(['group', 'delete', group, '--format', 'json'])
  assert.equal(again.code, 1)
  assert.deepEqual(again.json(), [{ groupId: group, ok: false, error: 'GROUP_ID_NOT_FOUND: The group id does not exist' }])
})

test('a KIP-848 group (the samsa consumer with groupProtocol consumer) is described with its assignor and members', async () => {
  const topic = uniqueName('kip848')
  const group = uniqueName('group848')
  assert.equal((await cli(['topic', 'create', topic, '-p', '2'])).code, 0)
  assert.equal((await cli(['produce', topic, '--partition', '1'], { stdin: 'a\nb\nc\n' })).code, 0)
  const member = createConsumer({ bootstrapServers: broker.bootstrap, clientId: 'kip848-client', groupId: group, groupProtocol: 'consumer', autoOffsetReset: 'earliest' })
  try {
    member.subscribe([topic])
    let n = 0
    for await (const _record of member) if (++n === 3) break
    await member.commit()
    const d = (await cli(['group', 'describe', group, '--format', 'json'])).json()
    assert.equal(d.type, 'consumer')
    assert.equal(d.state, 'Stable')
    assert.equal(d.protocolType, 'consumer')
    assert.equal(typeof d.protocol, 'string')
    assert.equal(d.members.length, 1)
    assert.equal(d.members[0].clientId, 'kip848-client')
    assert.deepEqual(d.members[0].assignment, [{ topic, partitions: [0, 1] }])
    assert.deepEqual(d.offsets.find((o: { partition: number }) => o.partition === 1), { topic, partition: 1, currentOffset: 3, logEndOffset: 3, lag: 0, memberId: d.members[0].memberId, clientId: 'kip848-client', host: d.members[0].host })
    const refused = await cli(['group', 'reset-offsets', group, '--topic', topic, '--to-earliest', '--execute'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /is active \(state Stable, 1 member\)/)
  } finally {
    await member.close()
  }
  const reset = await cli(['group', 'reset-offsets', group, '--topic', `${topic}:1`, '--to-earliest', '--execute'])
  assert.equal(reset.code, 0, reset.stderr)
  const after = (await cli(['group', 'describe', group, '--format', 'json'])).json()
  assert.equal(after.state, 'Empty')
  assert.equal(after.totalLag, 3)
})
