/** `samsa txn list|describe` and `samsa producers describe` with a transactional producer from @samsa/client. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createProducer } from '@samsa/client'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { type CliResult, type FakeIoOptions, cliFor, tableRows, uniqueName } from './helpers.ts'

let broker: TestBroker
let cli: (argv: string[], options?: FakeIoOptions) => Promise<CliResult>

before(async () => {
  broker = await startBroker({ config: { 'auto.create.topics.enable': false } })
  cli = cliFor(broker.bootstrap)
})

after(async () => {
  await broker.stop()
})

test('txn list and describe follow a transaction from Ongoing to CompleteCommit; producers describe shows it', async () => {
  const topic = uniqueName('txn')
  const transactionalId = uniqueName('tid')
  assert.equal((await cli(['topic', 'create', topic, '-p', '2'])).code, 0)
  assert.equal((await cli(['produce', topic, '--partition', '0'], { stdin: 'before\n' })).code, 0)
  const producer = createProducer({ bootstrapServers: broker.bootstrap, transactionalId, transactionTimeoutMs: 30_000, lingerMs: 0 })
  try {
    await producer.initTransactions()
    const { producerId, producerEpoch } = producer.producerId
    await producer.beginTransaction()
    await producer.send([{ topic, partition: 0, value: 'a' }, { topic, partition: 1, value: 'b' }])

    const list = await cli(['txn', 'list'])
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(tableRows(list.stdout)[0], ['TRANSACTIONAL-ID', 'COORDINATOR', 'STATE', 'PRODUCER-ID'])
    assert.deepEqual(tableRows(list.stdout).find((r) => r[0] === transactionalId), [transactionalId, '1', 'Ongoing', String(producerId)])
    const listed = (await cli(['txn', 'list', '--format', 'json'])).json()
    assert.deepEqual(listed.find((t: { transactionalId: string }) => t.transactionalId === transactionalId), { transactionalId, producerId: Number(producerId), transactionState: 'Ongoing', coordinatorId: 1 })
    const filtered = (await cli(['txn', 'list', '--state', 'CompleteCommit', '--format', 'json'])).json()
    assert.ok(!filtered.some((t: { transactionalId: string }) => t.transactionalId === transactionalId))
    const byProducer = (await cli(['txn', 'list', '--producer-id', String(producerId), '--format', 'json'])).json()
    assert.deepEqual(byProducer.map((t: { transactionalId: string }) => t.transactionalId), [transactionalId])

    const described = await cli(['txn', 'describe', transactionalId])
    assert.equal(described.code, 0, described.stderr)
    const text = described.stdout
    const pairs = Object.fromEntries(tableRows(text.slice(0, text.indexOf('\n\n'))).map((r) => [r[0], r[1]]))
    assert.equal(pairs['TRANSACTIONAL-ID'], transactionalId)
    assert.equal(pairs.STATE, 'Ongoing')
    assert.equal(pairs['PRODUCER-ID'], String(producerId))
    assert.equal(pairs['PRODUCER-EPOCH'], String(producerEpoch))
    assert.equal(pairs['TIMEOUT-MS'], '30000')
    assert.match(pairs['START-TIME'], /^\d{4}-\d{2}-\d{2}T/)
    assert.match(text, new RegExp(`\\nPARTITIONS\\n==========\\nTOPIC +PARTITION\\n${topic} +0\\n${topic} +1\\n$`))
    const json = (await cli(['txn', 'describe', transactionalId, '--format', 'json'])).json()
    assert.equal(json.transactionState, 'Ongoing')
    assert.equal(json.transactionTimeoutMs, 30_000)
    assert.deepEqual(json.partitions, [{ topic, partition: 0 }, { topic, partition: 1 }])
    assert.ok(json.durationMs >= 0)

    const producers = await cli(['producers', 'describe', topic])
    assert.equal(producers.code, 0, producers.stderr)
    const rows = tableRows(producers.stdout)
    assert.deepEqual(rows[0], ['PARTITION', 'PRODUCER-ID', 'EPOCH', 'LAST-SEQUENCE', 'LAST-TIMESTAMP', 'COORDINATOR-EPOCH', 'TXN-START-OFFSET'])
    const ours = rows.filter((r) => r[1] === String(producerId))
    assert.deepEqual(ours.map((r) => [r[0], r[2], r[3], r[6]]), [['0', String(producerEpoch), '0', '1'], ['1', String(producerEpoch), '0', '0']])
    const p1 = (await cli(['producers', 'describe', topic, '--partition', '1', '--format', 'json'])).json()
    assert.equal(p1.length, 1)
    assert.equal(p1[0].partition, 1)
    assert.deepEqual(p1[0].activeProducers.map((s: { producerId: number, currentTxnStartOffset: number }) => [s.producerId, s.currentTxnStartOffset]), [[Number(producerId), 0]])

    await producer.commitTransaction()
    const after = (await cli(['txn', 'describe', transactionalId, '--format', 'json'])).json()
    assert.equal(after.transactionState, 'CompleteCommit')
    assert.deepEqual(after.partitions, [])
    const closed = (await cli(['producers', 'describe', topic, '--format', 'json'])).json()
    for (const p of closed) for (const s of p.activeProducers) if (s.producerId === Number(producerId)) assert.equal(s.currentTxnStartOffset, -1)
  } finally {
    await producer.close()
  }
})

test('unknown transactional ids and topics exit 1 with the Kafka error', async () => {
  const missing = await cli(['txn', 'describe', 'no-such-transactional-id'])
  assert.equal(missing.code, 1)
  assert.equal(missing.stdout, '')
  assert.match(missing.stderr, /^samsa: transactional id 'no-such-transactional-id': TRANSACTIONAL_ID_NOT_FOUND: /)
  const noTopic = await cli(['producers', 'describe', 'no-such-topic'])
  assert.equal(noTopic.code, 1)
  assert.equal(noTopic.stderr, "samsa: topic 'no-such-topic': UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition\n")
})
