/**
 * `samsa produce` and `samsa consume` round trips against an in-process broker: keys,
 * headers, JSON and binary values, files, templates, hex, start positions, counts, follow,
 * compression codecs, acks and isolation levels.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createProducer } from '@samsa/client'
import { COMPRESSION_CODEC_MASK, FetchApi, LOG_OVERHEAD, MetadataApi, ZERO_UUID, readBatchHeader, readBatchLength } from '@samsa/protocol'
import { createFetchPartition, createFetchRequest, createFetchTopic } from '@samsa/protocol/messages/fetch'
import { type TestBroker, connectRaw, startBroker } from '@samsa/testkit'
import { run } from '../src/mod.ts'
import { type CliResult, type FakeIoOptions, cliFor, fakeIo, uniqueName, waitFor } from './helpers.ts'

let broker: TestBroker
let cli: (argv: string[], options?: FakeIoOptions) => Promise<CliResult>

before(async () => {
  broker = await startBroker({ config: { 'auto.create.topics.enable': false, 'num.partitions': 1 } })
  cli = cliFor(broker.bootstrap)
})

after(async () => {
  await broker.stop()
})

async function topic (partitions = 1): Promise<string> {
  const name = uniqueName('pc')
  const r = await cli(['topic', 'create', name, '-p', String(partitions)])
  assert.equal(r.code, 0, r.stderr)
  return name
}

/** The compression codec ids of a partition's stored batches, read with a raw Fetch. */
async function storedCodecs (name: string): Promise<number[]> {
  const c = await connectRaw(broker.bootstrap)
  try {
    await c.request(MetadataApi, 9, { topics: [{ topicId: ZERO_UUID, name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
    const res = await c.request(FetchApi, 12, {
      ...createFetchRequest(),
      maxWaitMs: 0,
      topics: [{ ...createFetchTopic(), topic: name, partitions: [{ ...createFetchPartition(), partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 * 1024 }] }]
    })
    const records = res.responses[0]!.partitions[0]!.records ?? Buffer.alloc(0)
    const codecs: number[] = []
    for (let at = 0; at + LOG_OVERHEAD <= records.length; at += LOG_OVERHEAD + readBatchLength(records, at)) {
      codecs.push(readBatchHeader(records, at).attributes & COMPRESSION_CODEC_MASK)
    }
    return codecs
  } finally {
    c.close()
  }
}

test('text lines with a key separator and headers round-trip as JSON lines', async () => {
  const name = await topic(3)
  const produced = await cli(['produce', name, '--key-separator', ':', '-H', 'source=cli', '--header', 'run=1'], { stdin: 'user-1:signed up\nuser-2:logged in\r\nno separator here\n\nuser-1:x:y' })
  assert.equal(produced.code, 0, produced.stderr)
  assert.equal(produced.stdout, '')
  const records = (await cli(['consume', name, '--output', 'json'])).lines()
  assert.equal(records.length, 5)
  const byValue = new Map(records.map((r) => [r.value, r]))
  assert.equal(byValue.get('signed up').key, 'user-1')
  assert.equal(byValue.get('logged in').key, 'user-2')
  assert.equal(byValue.get('no separator here').key, null)
  assert.equal(byValue.get('').key, null, 'an empty line is an empty value')
  assert.equal(byValue.get('x:y').key, 'user-1', 'only the first separator splits')
  assert.equal(byValue.get('x:y').partition, byValue.get('signed up').partition, 'one key, one partition')
  for (const r of records) {
    assert.equal(r.topic, name)
    assert.equal(r.timestampType, 'CreateTime')
    assert.deepEqual(r.headers, [{ key: 'source', value: 'cli' }, { key: 'run', value: '1' }])
    assert.equal(typeof r.offset, 'number')
  }
  // --format json on consume means JSON lines too.
  assert.deepEqual((await cli(['consume', name, '--format', 'json'])).lines(), records)
})

test('JSON input: objects, binary (base64), header lists, partitions and timestamps; hex output', async () => {
  const name = await topic(2)
  const lines = [
    JSON.stringify({ key: 'k1', value: { n: 1, tags: ['a'] }, headers: { h: 'x' }, partition: 1, timestamp: '2024-06-10T12:00:00Z' }),
    JSON.stringify({ key: { base64: Buffer.from([0, 255, 1]).toString('base64') }, value: { base64: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64') }, headers: [{ key: 'h', value: '1' }, { key: 'h', value: null }], partition: 0, timestamp: 1_700_000_000_000 }),
    '',
    JSON.stringify({ value: null, partition: 1 })
  ]
  const produced = await cli(['produce', name, '--json', '--print-offsets', '--format', 'json'], { stdin: lines.join('\n') + '\n' })
  assert.equal(produced.code, 0, produced.stderr)
  const reports = produced.lines().sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  assert.deepEqual(reports.map((r) => [r.partition, r.offset]), [[0, 0], [1, 0], [1, 1]])
  assert.equal(reports[1].timestamp, Date.parse('2024-06-10T12:00:00Z'))

  const records = (await cli(['consume', name, '--output', 'json'])).lines().sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  assert.deepEqual(records[0], {
    topic: name, partition: 0, offset: 0, timestamp: 1_700_000_000_000, timestampType: 'CreateTime',
    key: { base64: 'AP8B' }, value: { base64: '3q2+7w==' }, headers: [{ key: 'h', value: '1' }, { key: 'h', value: null }]
  })
  assert.equal(records[1].value, '{"n":1,"tags":["a"]}')
  assert.equal(records[1].key, 'k1')
  assert.equal(records[2].value, null)

  // What consume prints as JSON, produce --json takes back unchanged.
  const copy = await topic(2)
  const replay = await cli(['produce', copy, '--json'], { stdin: records.map((r) => JSON.stringify(r)).join('\n') })
  assert.equal(replay.code, 0, replay.stderr)
  const copied = (await cli(['consume', copy, '--output', 'json'])).lines().sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  assert.deepEqual(copied.map((r) => ({ ...r, topic: name })), records)

  const hex = await cli(['consume', name, '--partition', '0', '--output', 'hex'])
  assert.equal(hex.code, 0)
  assert.equal(hex.stdout, [
    `topic ${name} partition 0 offset 0 timestamp 1700000000000`,
    'key (3 bytes)',
    '00000000  00 ff 01                                          |...|',
    'value (4 bytes)',
    '00000000  de ad be ef                                       |....|',
    "header 'h' (1 byte)",
    '00000000  31                                                |1|',
    "header 'h': null",
    '',
    ''
  ].join('\n'))

  const bad = await cli(['produce', name, '--json'], { stdin: '{"value":"ok"}\n{not json}\n' })
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /^samsa: line 2: invalid JSON/)
  const unknownField = await cli(['produce', name, '--json'], { stdin: '{"valeu":"typo"}\n' })
  assert.equal(unknownField.code, 1)
  assert.equal(unknownField.stderr, "samsa: line 1: unknown field 'valeu'\n")
})

test('--file input and templates with every field', async () => {
  const name = await topic()
  const produced = await cli(['produce', name, '--file', 'records.txt', '-k', '=', '-H', 'h=v'], { files: { 'records.txt': 'a=1\nb=2\n' } })
  assert.equal(produced.code, 0, produced.stderr)
  const missing = await cli(['produce', name, '--file', 'nope.txt'])
  assert.equal(missing.code, 1)
  assert.equal(missing.stderr, "samsa: cannot read 'nope.txt': no such file\n")

  const out = await cli(['consume', name, '--template', '{{topic}} {{partition}}/{{offset}} {{key}}={{value}} [{{headers}}] {{header.h}} {{timestampType}}\\t{{timestamp}}'])
  assert.equal(out.code, 0)
  const lines = out.stdout.split('\n')
  assert.equal(lines.length, 3)
  assert.match(lines[0]!, new RegExp(`^${name} 0/0 a=1 \\[h=v\\] v CreateTime\\t\\d{13}$`))
  assert.match(lines[1]!, new RegExp(`^${name} 0/1 b=2 \\[h=v\\] v CreateTime\\t\\d{13}$`))
  const time = await cli(['consume', name, '-t', '{{time}}', '-n', '1'])
  assert.match(time.stdout, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\n$/)
  // The default template is the value.
  assert.equal((await cli(['consume', name])).stdout, '1\n2\n')
})

test('--from beginning, end, offsets, -n, +n and @time; --count; --partition', async () => {
  const name = await topic(2)
  const input = Array.from({ length: 10 }, (_, i) => JSON.stringify({ value: `v${i}`, partition: i % 2, timestamp: 1_000_000 + i * 1000 })).join('\n')
  assert.equal((await cli(['produce', name, '--json'], { stdin: input })).code, 0)
  const values = async (...args: string[]): Promise<string[]> => {
    const r = await cli(['consume', name, '--partition', '0', ...args])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.split('\n').filter((l) => l !== '')
  }
  assert.deepEqual(await values(), ['v0', 'v2', 'v4', 'v6', 'v8'])
  assert.deepEqual(await values('--from', 'beginning'), ['v0', 'v2', 'v4', 'v6', 'v8'])
  assert.deepEqual(await values('--from', 'end'), [])
  assert.deepEqual(await values('--from', '3'), ['v6', 'v8'])
  assert.deepEqual(await values('--from', '99'), [], 'an offset beyond the end starts at the end')
  assert.deepEqual(await values('--from', '-2'), ['v6', 'v8'])
  assert.deepEqual(await values('-o', '+4'), ['v8'])
  assert.deepEqual(await values('--from', '@1004000'), ['v4', 'v6', 'v8'])
  assert.deepEqual(await values('--from', `@${new Date(1_006_000).toISOString()}`), ['v6', 'v8'])
  assert.deepEqual(await values('--from', '@2100-01-01'), [], 'no record that recent: the end')
  assert.deepEqual(await values('--count', '2'), ['v0', 'v2'])
  const both = await cli(['consume', name, '--count', '7', '-t', '{{partition}}:{{value}}'])
  assert.equal(both.stdout.split('\n').filter((l) => l !== '').length, 7)
  const second = await cli(['consume', name, '-p', '1', '-p', '0', '-n', '20'])
  assert.equal(second.stdout.split('\n').filter((l) => l !== '').length, 10, 'stops at the end even with a larger --count')
  const noPartition = await cli(['consume', name, '--partition', '7'])
  assert.equal(noPartition.code, 1)
  assert.equal(noPartition.stderr, `samsa: topic '${name}' has no partition 7 (it has 2)\n`)
})

test('--follow prints new records until SIGINT; with --count it stops by itself', async () => {
  const name = await topic()
  const io = fakeIo()
  const following = run(['consume', name, '--follow', '--bootstrap', broker.bootstrap], io)
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal((await cli(['produce', name], { stdin: 'one\ntwo\n' })).code, 0)
  await waitFor(() => io.out.join('') === 'one\ntwo\n' ? true : undefined, 10_000, 'followed records')
  assert.equal((await cli(['produce', name], { stdin: 'three\n' })).code, 0)
  await waitFor(() => io.out.join('').endsWith('three\n') ? true : undefined, 10_000, 'a third record')
  io.signal('SIGINT')
  assert.equal(await following, 0)
  assert.equal(io.out.join(''), 'one\ntwo\nthree\n')

  const counted = cli(['consume', name, '--from', 'end', '--follow', '--count', '2'])
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.equal((await cli(['produce', name], { stdin: 'four\nfive\nsix\n' })).code, 0)
  const r = await counted
  assert.equal(r.code, 0)
  assert.equal(r.stdout, 'four\nfive\n')
})

test('every compression codec and acks setting round-trips', async () => {
  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const name = await topic()
    const input = Array.from({ length: 50 }, (_, i) => `${codec} record ${i} ${'x'.repeat(i)}`).join('\n')
    const produced = await cli(['produce', name, '--compression', codec, '--linger-ms', '50'], { stdin: input })
    assert.equal(produced.code, 0, `${codec}: ${produced.stderr}`)
    assert.equal((await cli(['consume', name])).stdout, input + '\n', codec)
    const ids = await storedCodecs(name)
    assert.ok(ids.length > 0)
    assert.deepEqual([...new Set(ids)], [['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(codec)], `${codec} batches are stored compressed`)
  }
  for (const acks of ['0', '1', 'all']) {
    const name = await topic()
    const produced = await cli(['produce', name, '--acks', acks, '--print-offsets'], { stdin: 'a\nb\n' })
    assert.equal(produced.code, 0, produced.stderr)
    assert.equal(produced.stdout.split('\n').filter((l) => l !== '').length, 2)
    if (acks !== '0') assert.match(produced.stdout, /^Produced to partition 0 at offset 0 with timestamp \d+\nProduced to partition 0 at offset 1 /)
    else assert.match(produced.stdout, /at offset -1 /, 'acks=0 learns no offsets')
    await waitFor(async () => (await cli(['consume', name])).stdout === 'a\nb\n' ? true : undefined, 5000, `records with acks=${acks}`)
  }
})

test('read_committed hides aborted and open transactions; read_uncommitted shows them', async () => {
  const name = await topic()
  const producer = createProducer({ bootstrapServers: broker.bootstrap, transactionalId: uniqueName('txn'), lingerMs: 0 })
  try {
    await producer.initTransactions()
    await producer.beginTransaction()
    await producer.send([{ topic: name, value: 'committed-1' }, { topic: name, value: 'committed-2' }])
    await producer.commitTransaction()
    await producer.beginTransaction()
    await producer.send({ topic: name, value: 'aborted' })
    await producer.abortTransaction()
    await producer.send({ topic: name, value: 'outside' }).catch(() => {})
    await producer.beginTransaction()
    await producer.send({ topic: name, value: 'open' })
    assert.equal((await cli(['consume', name])).stdout, 'committed-1\ncommitted-2\n', 'stops at the last stable offset')
    assert.equal((await cli(['consume', name, '--isolation', 'read_uncommitted'])).stdout, 'committed-1\ncommitted-2\naborted\nopen\n')
    await producer.commitTransaction()
    assert.equal((await cli(['consume', name, '--isolation', 'read_committed'])).stdout, 'committed-1\ncommitted-2\nopen\n')
  } finally {
    await producer.close()
  }
})

test('consume --group: resumes from the group\'s commits, commits only what it printed, follows until SIGINT', async () => {
  const name = await topic(2)
  const group = uniqueName('cg')
  const input = Array.from({ length: 6 }, (_, i) => JSON.stringify({ value: `v${i}`, partition: i % 2 })).join('\n')
  assert.equal((await cli(['produce', name, '--json'], { stdin: input })).code, 0)
  const committed = async (): Promise<number[]> => (await cli(['group', 'describe', group, '--format', 'json'])).json().offsets.map((o: { currentOffset: number }) => o.currentOffset)

  const two = await cli(['consume', name, '--group', group, '--partition', '0', '--count', '2'])
  assert.equal(two.code, 0, two.stderr)
  assert.equal(two.stdout, 'v0\nv2\n')
  assert.deepEqual(await committed(), [2], 'only the printed records are committed')

  const rest = await cli(['consume', name, '-g', group, '-t', '{{partition}}:{{value}}'])
  assert.equal(rest.code, 0, rest.stderr)
  assert.deepEqual(rest.stdout.split('\n').filter((l) => l !== '').sort(), ['0:v4', '1:v1', '1:v3', '1:v5'])
  assert.deepEqual(await committed(), [3, 3])
  assert.equal((await cli(['consume', name, '-g', group])).stdout, '', 'nothing new')

  const io = fakeIo()
  const following = run(['consume', name, '--group', group, '--follow', '--bootstrap', broker.bootstrap], io)
  assert.equal((await cli(['produce', name, '--partition', '1'], { stdin: 'later\n' })).code, 0)
  await waitFor(() => io.out.join('') === 'later\n' ? true : undefined, 15_000, 'the followed record')
  io.signal('SIGINT')
  assert.equal(await following, 0)
  assert.deepEqual(await committed(), [3, 4])

  // An explicit --from overrides the commits; -n/+n need partition ends, so not with a group.
  const again = await cli(['consume', name, '-g', group, '--partition', '1', '--from', '1', '-n', '1'])
  assert.equal(again.stdout, 'v3\n')
  const relative = await cli(['consume', name, '-g', group, '--from', '-1'])
  assert.equal(relative.code, 2)
  assert.match(relative.stderr, /--from -<n> and \+<n> cannot be combined with --group/)
  const unknown = await cli(['consume', 'no-such-topic', '-g', group])
  assert.equal(unknown.code, 1)
  assert.equal(unknown.stderr, "samsa: topic 'no-such-topic': UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition\n")
})

test('unknown topics and partitions exit 1 with a clear message', async () => {
  const produced = await cli(['produce', 'no-such-topic'], { stdin: 'x\n' })
  assert.equal(produced.code, 1)
  assert.equal(produced.stderr, "samsa: topic 'no-such-topic' does not exist (create it with: samsa topic create no-such-topic)\n")
  const consumed = await cli(['consume', 'no-such-topic'])
  assert.equal(consumed.code, 1)
  assert.equal(consumed.stderr, "samsa: topic 'no-such-topic': UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition\n")
  const name = await topic()
  const badPartition = await cli(['produce', name, '--partition', '3'], { stdin: 'x\n' })
  assert.equal(badPartition.code, 1)
  assert.equal(badPartition.stderr, `samsa: topic '${name}' has no partition 3 (it has 1)\n`)
})
