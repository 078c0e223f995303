/** `samsa topic ...` and `samsa cluster info` against an in-process broker. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { type CliResult, type FakeIoOptions, cliFor, tableRows, uniqueName } from './helpers.ts'

let broker: TestBroker
let cli: (argv: string[], options?: FakeIoOptions) => Promise<CliResult>

before(async () => {
  broker = await startBroker({ config: { 'auto.create.topics.enable': false, 'num.partitions': 2 } })
  cli = cliFor(broker.bootstrap)
})

after(async () => {
  await broker.stop()
})

test('topic create: partitions, configs, dry run, table and JSON; an existing topic exits 1', async () => {
  const a = uniqueName('create-a')
  const b = uniqueName('create-b')
  const dry = await cli(['topic', 'create', a, '--dry-run'])
  assert.equal(dry.code, 0)
  assert.deepEqual(tableRows(dry.stdout), [['TOPIC', 'STATUS'], [a, 'OK (dry run)']])
  assert.ok(!(await cli(['topic', 'list', '--format', 'json'])).json().some((t: { name: string }) => t.name === a))

  const created = await cli(['topic', 'create', a, '-p', '3', '-c', 'retention.ms=3600000', '--config', 'cleanup.policy=compact'])
  assert.equal(created.code, 0, created.stderr)
  assert.deepEqual(tableRows(created.stdout), [['TOPIC', 'STATUS'], [a, 'OK']])

  const json = await cli(['topic', 'create', b, '--format', 'json'])
  assert.equal(json.code, 0)
  const [row] = json.json()
  assert.equal(row.topic, b)
  assert.equal(row.ok, true)
  assert.equal(row.partitions, 2, "num.partitions is the broker's default")
  assert.match(row.topicId, /^[0-9a-f-]{36}$/)

  const again = await cli(['topic', 'create', a, uniqueName('create-c')])
  assert.equal(again.code, 1)
  const rows = tableRows(again.stdout)
  assert.equal(rows[1]![0], a)
  assert.match(rows[1]![1]!, /^TOPIC_ALREADY_EXISTS: Topic '.*' already exists$/)
  assert.equal(rows[2]![1], 'OK')
})

test('topic list: names, partitions and replicas; internal topics on request', async () => {
  const name = uniqueName('list')
  assert.equal((await cli(['topic', 'create', name, '-p', '4'])).code, 0)
  const table = await cli(['topic', 'list'])
  assert.equal(table.code, 0)
  const rows = tableRows(table.stdout)
  assert.deepEqual(rows[0], ['NAME', 'PARTITIONS', 'REPLICAS'])
  assert.deepEqual(rows.find((r) => r[0] === name), [name, '4', '1'])
  const json = (await cli(['topic', 'list', '--format', 'json'])).json()
  assert.deepEqual(json.find((t: { name: string }) => t.name === name), { name, partitions: 4, replicationFactor: 1, internal: false, topicId: json.find((t: { name: string }) => t.name === name).topicId })
  assert.ok(json.every((t: { internal: boolean }) => !t.internal))
  // Committing an offset creates __consumer_offsets.
  await cli(['group', 'reset-offsets', uniqueName('g'), '--topic', name, '--to-earliest', '--execute'])
  const internal = (await cli(['topic', 'list', '--internal', '--format', 'json'])).json()
  assert.ok(internal.some((t: { name: string, internal: boolean }) => t.name === '__consumer_offsets' && t.internal))
})

test('topic describe: summary, configs and partitions with offsets; JSON; an unknown topic exits 1', async () => {
  const name = uniqueName('describe')
  assert.equal((await cli(['topic', 'create', name, '-p', '2', '-c', 'max.message.bytes=2000000'])).code, 0)
  const produced = await cli(['produce', name, '--partition', '1'], { stdin: 'a\nb\nc\n' })
  assert.equal(produced.code, 0, produced.stderr)

  const table = await cli(['topic', 'describe', name])
  assert.equal(table.code, 0, table.stderr)
  const text = table.stdout
  assert.match(text, /^SUMMARY\n=======\nNAME {8}describe-/)
  assert.match(text, /\nPARTITIONS {2}2\n/)
  assert.match(text, /\nCONFIGS\n=======\nKEY {16}VALUE {4}SOURCE\nmax\.message\.bytes {2}2000000 {2}DYNAMIC_TOPIC_CONFIG\n/)
  assert.match(text, /\nPARTITIONS\n==========\nPARTITION {2}LEADER {2}EPOCH {2}REPLICAS {2}ISR {2}LOG-START-OFFSET {2}HIGH-WATERMARK\n0 +1 +0 +1 +1 +0 +0\n1 +1 +0 +1 +1 +0 +3\n$/)

  const all = await cli(['topic', 'describe', name, '--all-configs'])
  assert.match(all.stdout, /\nretention\.ms +604800000 +DEFAULT_CONFIG\n/)

  const [d] = (await cli(['topic', 'describe', name, '--format', 'json'])).json()
  assert.equal(d.name, name)
  assert.equal(d.partitionCount, 2)
  assert.deepEqual(d.configs, [{ name: 'max.message.bytes', value: '2000000', source: 'DYNAMIC_TOPIC_CONFIG', readOnly: false, sensitive: false }])
  assert.deepEqual(d.partitions[1], { partition: 1, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], offlineReplicas: [], logStartOffset: 0, highWatermark: 3 })

  const missing = await cli(['topic', 'describe', 'no-such-topic'])
  assert.equal(missing.code, 1)
  assert.equal(missing.stdout, '')
  assert.equal(missing.stderr, "samsa: topic 'no-such-topic': UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition\n")
  const partly = await cli(['topic', 'describe', name, 'no-such-topic', '--format', 'json'])
  assert.equal(partly.code, 1)
  assert.equal(partly.json().length, 1)
})

test('topic alter-config: set, delete, dry run; bad values report Kafka errors', async () => {
  const name = uniqueName('alter')
  assert.equal((await cli(['topic', 'create', name])).code, 0)
  const configsOf = async (): Promise<Record<string, string>> =>
    Object.fromEntries((await cli(['topic', 'describe', name, '--format', 'json'])).json()[0].configs.map((c: { name: string, value: string }) => [c.name, c.value]))

  const dry = await cli(['topic', 'alter-config', name, '--set', 'retention.ms=1000', '--dry-run'])
  assert.equal(dry.code, 0)
  assert.deepEqual(tableRows(dry.stdout)[1], [name, 'OK (dry run)'])
  assert.deepEqual(await configsOf(), {})

  const set = await cli(['topic', 'alter-config', name, '-s', 'retention.ms=1000', '-s', 'cleanup.policy=compact'])
  assert.equal(set.code, 0, set.stderr)
  assert.deepEqual(await configsOf(), { 'cleanup.policy': 'compact', 'retention.ms': '1000' })

  const del = await cli(['topic', 'alter-config', name, '--delete', 'retention.ms', '--format', 'json'])
  assert.equal(del.code, 0)
  assert.equal(del.json()[0].ok, true)
  assert.deepEqual(await configsOf(), { 'cleanup.policy': 'compact' })

  const bad = await cli(['topic', 'alter-config', name, '--set', 'retention.ms=soon'])
  assert.equal(bad.code, 1)
  assert.match(tableRows(bad.stdout)[1]![1]!, /^INVALID_CONFIG: /)
})

test('topic add-partitions: --num and --total; shrinking is refused', async () => {
  const name = uniqueName('grow')
  assert.equal((await cli(['topic', 'create', name, '-p', '1'])).code, 0)
  const added = await cli(['topic', 'add-partitions', name, '--num', '2'])
  assert.equal(added.code, 0, added.stderr)
  assert.deepEqual(tableRows(added.stdout)[1], [name, '1 -> 3', 'OK'])
  const total = await cli(['topic', 'add-partitions', name, '--total', '5', '--format', 'json'])
  assert.deepEqual(total.json(), [{ topic: name, ok: true, dryRun: false, partitionsBefore: 3, partitionsAfter: 5, error: null }])
  assert.equal((await cli(['topic', 'describe', name, '--format', 'json'])).json()[0].partitionCount, 5)
  const shrink = await cli(['topic', 'add-partitions', name, '--total', '2'])
  assert.equal(shrink.code, 1)
  assert.match(shrink.stdout, /INVALID_PARTITIONS: Topic already has 5 partitions/)
})

test('topic delete: deletes; an unknown topic exits 1 with its error', async () => {
  const name = uniqueName('delete')
  assert.equal((await cli(['topic', 'create', name])).code, 0)
  const deleted = await cli(['topic', 'delete', name])
  assert.equal(deleted.code, 0, deleted.stderr)
  assert.deepEqual(tableRows(deleted.stdout), [['TOPIC', 'STATUS'], [name, 'OK']])
  assert.ok(!(await cli(['topic', 'list', '--format', 'json'])).json().some((t: { name: string }) => t.name === name))
  const again = await cli(['topic', 'delete', name, '--format', 'json'])
  assert.equal(again.code, 1)
  assert.deepEqual(again.json(), [{ topic: name, ok: false, error: 'UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition' }])
})

test('cluster info: id, controller, brokers and topic counts', async () => {
  const table = await cli(['cluster', 'info'])
  assert.equal(table.code, 0, table.stderr)
  assert.match(table.stdout, /^CLUSTER\n=======\nCLUSTER-ID {2}\S+\nCONTROLLER {2}1\nTOPICS {6}\d+ \(\d+ partitions\)\nINTERNAL {4}\d+ \(\d+ partitions\)\n/)
  assert.match(table.stdout, new RegExp(`\\nBROKERS\\n=======\\nID {2}HOST:PORT +RACK\\n1\\* {2}${broker.host}:${broker.port} +-\\n$`))
  const json = (await cli(['cluster', 'info', '--format', 'json'])).json()
  assert.equal(json.controllerId, 1)
  assert.deepEqual(json.brokers, [{ nodeId: 1, host: broker.host, port: broker.port, rack: null, controller: true }])
  assert.equal(typeof json.clusterId, 'string')
  assert.ok(json.topics >= 1 && json.partitions >= json.topics)
})
