/**
 * kcat 1.7.1 (librdkafka 2.0.2) against `samsa start`: metadata (-L), topics by
 * auto-creation, produce (-P) with keys, null keys, headers, every codec (-z), 1 MB values,
 * 32 partitions, consume without a group (-C), offsets by time (-o s@<ts>, -Q), and acks=all
 * records across restarts. kcat has no admin API: topics it cannot auto-create (32
 * partitions) and deletions go through plain CreateTopics/DeleteTopics requests; it has no
 * configs API at all. The balanced consumer (-G) needs consumer groups.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test, type TestContext } from 'node:test'
import { type SamsaProcess, startSamsa } from './harness.ts'
import {
  FIND_COORDINATOR_KEY, advertisedApis, compressibleValue, createTopicRaw, deleteTopicsRaw, groupsSkipReason, readAll, run,
  storedBatches, storedCodecs, uniqueTopic, waitFor
} from './helpers.ts'

let samsa: SamsaProcess
let groupsSkip: string | false
let lz4Skip: string | false

before(async () => {
  samsa = await startSamsa({ config: { 'group.initial.rebalance.delay.ms': 0 } })
  groupsSkip = await groupsSkipReason(samsa.bootstrap)
  // librdkafka enables its LZ4 feature only if the broker's FindCoordinator range overlaps
  // 0..0 (rdkafka_feature.c); without it `-z lz4` silently sends uncompressed batches.
  const findCoordinator = (await advertisedApis(samsa.bootstrap)).get(FIND_COORDINATOR_KEY)
  lz4Skip = findCoordinator?.min === 0 ? false : 'librdkafka disables LZ4 until FindCoordinator v0 is advertised (consumer groups)'
})

after(async () => {
  if (process.env.SAMSA_COMPAT_LOG_LEVEL !== undefined) console.log(samsa.log())
  await samsa.stop()
})

/** Runs kcat against the broker; fails on a non-zero exit unless `allowFailure`. */
async function kcat (args: string[], options: { input?: string | Buffer, allowFailure?: boolean } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const result = await run('kcat', ['-b', samsa.bootstrap, ...args], { input: options.input ?? '', timeoutMs: 30_000 })
  if (result.code !== 0 && options.allowFailure !== true) throw new Error(`kcat ${args.join(' ')} exited with ${result.code}:\n${result.stderr}`)
  return result
}

interface KcatRecord {
  topic: string
  partition: number
  offset: number
  tstype: string
  ts: number
  headers?: string[]
  key: string | null
  payload: string | null
}

/** Consumes a whole topic from the beginning with the simple consumer (no group) as JSON. */
async function consumeAll (topic: string, extra: string[] = []): Promise<KcatRecord[]> {
  const { stdout } = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-X', 'fetch.message.max.bytes=4000000', ...extra])
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as KcatRecord)
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

/** A topic created by kcat's own produce (auto-creation), deleted after the test. */
function autoTopic (t: TestContext, prefix: string): string {
  const topic = uniqueTopic(prefix)
  t.after(() => deleteTopicsRaw(samsa.bootstrap, [topic]))
  return topic
}

test('metadata (-L) and topic auto-creation', { timeout: 30_000 }, async (t) => {
  const topic = autoTopic(t, 'kcat-meta')
  await kcat(['-P', '-t', topic], { input: 'hello\n' })
  const { stdout } = await kcat(['-L', '-J'])
  const meta = JSON.parse(stdout) as { controllerid: number, brokers: Array<{ id: number, name: string }>, topics: Array<{ topic: string, partitions: Array<{ partition: number, leader: number, replicas: Array<{ id: number }>, isrs: Array<{ id: number }> }> }> }
  assert.deepEqual(meta.brokers.map((b) => b.name), [`127.0.0.1:${samsa.port}`])
  assert.equal(meta.controllerid, meta.brokers[0]!.id)
  const id = meta.brokers[0]!.id
  const t1 = meta.topics.find((x) => x.topic === topic)
  assert.deepEqual(t1?.partitions, [{ partition: 0, leader: id, replicas: [{ id }], isrs: [{ id }] }], 'auto-created with num.partitions=1')
  // -L -t asks for one topic; librdkafka allows auto-creation there too.
  const other = autoTopic(t, 'kcat-meta-auto')
  const single = JSON.parse((await kcat(['-L', '-J', '-t', other])).stdout) as typeof meta
  assert.deepEqual(single.topics.map((x) => [x.topic, x.partitions.length]), [[other, 1]])
  // Deleted (DeleteTopics from outside): gone from -L.
  assert.deepEqual(await deleteTopicsRaw(samsa.bootstrap, [topic, other]), { [topic]: 0, [other]: 0 })
  const afterDelete = JSON.parse((await kcat(['-L', '-J'])).stdout) as typeof meta
  assert.ok(!afterDelete.topics.some((x) => x.topic === topic || x.topic === other))
})

test('produce and consume keys, null keys, headers and empty values', { timeout: 30_000 }, async (t) => {
  const topic = autoTopic(t, 'kcat-basic')
  // -K: splits key and value; a line without the delimiter has a null key; "k3:" an empty value.
  await kcat(['-P', '-t', topic, '-K', ':', '-H', 'h1=x', '-H', 'h2=y', '-X', 'acks=all'], { input: 'k1:v1\nno key\nk3:\n' })
  // -Z sends an empty key/value as NULL.
  await kcat(['-P', '-t', topic, '-K', ':', '-Z'], { input: 'k4:\n' })
  const records = await consumeAll(topic)
  assert.deepEqual(records.map((r) => [r.offset, r.key, r.payload, r.headers ?? []]), [
    [0, 'k1', 'v1', ['h1', 'x', 'h2', 'y']],
    [1, null, 'no key', ['h1', 'x', 'h2', 'y']],
    [2, 'k3', '', ['h1', 'x', 'h2', 'y']],
    [3, 'k4', null, []]
  ])
  assert.ok(records.every((r) => r.tstype === 'create'))
  const stored = await readAll(samsa.bootstrap, topic)
  assert.deepEqual(stored.map((r) => [r.key, r.value?.toString() ?? null]), [['k1', 'v1'], [null, 'no key'], ['k3', ''], ['k4', null]])
  // librdkafka without idempotence: producer id -1, epoch -1, sequence -1 (as Java sends).
  const [batch] = storedBatches(samsa.dataDir, topic)
  assert.deepEqual([batch!.producerId, batch!.producerEpoch, batch!.baseSequence], [-1n, -1, -1])
})

test('every codec: -z none, gzip, snappy, lz4, zstd', { timeout: 30_000 }, async (t) => {
  const topic = autoTopic(t, 'kcat-codecs')
  const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
  let next = 0
  const ranges: Record<string, [number, number]> = {}
  for (const codec of codecs) {
    const lines = Array.from({ length: 10 }, (_, i) => `${codec}-${i}:${compressibleValue(i)}`).join('\n') + '\n'
    await kcat(['-P', '-t', topic, '-K', ':', '-z', codec, '-H', `codec=${codec}`], { input: lines })
    ranges[codec] = [next, next + 10]
    next += 10
  }
  for (const codec of codecs) {
    if (codec === 'lz4') continue
    assert.deepEqual(storedCodecs(samsa.dataDir, topic, 0, ...ranges[codec]!), [codec], `-z ${codec} batches stored with ${codec}`)
  }
  await t.test('-z lz4 batches are stored with lz4', { skip: lz4Skip }, () => {
    assert.deepEqual(storedCodecs(samsa.dataDir, topic, 0, ...ranges.lz4!), ['lz4'])
  })
  const records = await consumeAll(topic)
  assert.deepEqual(records.map((r) => [r.key, r.payload, r.headers]),
    codecs.flatMap((c) => Array.from({ length: 10 }, (_, i) => [`${c}-${i}`, compressibleValue(i), ['codec', c]])))
})

test('1,000,000-byte values are accepted; oversized batches get MESSAGE_TOO_LARGE', { timeout: 30_000 }, async (t) => {
  const topic = autoTopic(t, 'kcat-large')
  const dir = tmpdir()
  const big = join(dir, `kcat-big-${randomBytes(4).toString('hex')}`)
  const tooBig = join(dir, `kcat-too-big-${randomBytes(4).toString('hex')}`)
  writeFileSync(big, Buffer.alloc(1_000_000, 'm'))
  writeFileSync(tooBig, Buffer.alloc(1024 * 1024, 'x'))
  // librdkafka's own message.max.bytes (1000000) would stop both locally; raise it so the
  // broker decides. Each file is one message.
  await kcat(['-P', '-t', topic, '-X', 'message.max.bytes=4000000', big])
  const failed = await kcat(['-P', '-t', topic, '-X', 'message.max.bytes=4000000', tooBig], { allowFailure: true })
  assert.equal(failed.code, 1)
  assert.match(failed.stderr, /Delivery failed for message: Broker: Message size too large/)
  await kcat(['-P', '-t', topic], { input: 'after\n' })
  const records = await consumeAll(topic)
  assert.deepEqual(records.map((r) => [r.offset, r.payload?.length]), [[0, 1_000_000], [1, 5]])
  assert.equal(records[0]!.payload, 'm'.repeat(1_000_000))
})

test('32 partitions: keyed records spread over all, each partition in order', { timeout: 60_000 }, async (t) => {
  const topic = uniqueTopic('kcat-many')
  await createTopicRaw(samsa.bootstrap, topic, 32)
  t.after(() => deleteTopicsRaw(samsa.bootstrap, [topic]))
  const keys = Array.from({ length: 512 }, (_, i) => `key-${i}`)
  const input = [0, 1, 2, 3, 4].flatMap((round) => keys.map((k) => `${k}:${k}/${round}`)).join('\n') + '\n'
  await kcat(['-P', '-t', topic, '-K', ':', '-X', 'acks=all'], { input })
  const records = await consumeAll(topic)
  assert.equal(records.length, keys.length * 5)
  assert.equal(new Set(records.map((r) => r.partition)).size, 32)
  const partitionOfKey = new Map<string, number>()
  const roundOfKey = new Map<string, number>()
  const nextOffset = new Map<number, number>()
  for (const r of records) {
    assert.equal(r.offset, nextOffset.get(r.partition) ?? 0, `contiguous offsets in partition ${r.partition}`)
    nextOffset.set(r.partition, r.offset + 1)
    const [key, round] = r.payload!.split('/') as [string, string]
    assert.equal(r.key, key)
    assert.equal(partitionOfKey.get(key) ?? r.partition, r.partition, `${key} always in one partition`)
    partitionOfKey.set(key, r.partition)
    assert.equal(Number(round), (roundOfKey.get(key) ?? -1) + 1, `${key} in order`)
    roundOfKey.set(key, Number(round))
  }
})

test('offsets by timestamp: -o s@<ts> and -Q', { timeout: 30_000 }, async (t) => {
  const topic = autoTopic(t, 'kcat-times')
  await kcat(['-P', '-t', topic], { input: 'a0\na1\na2\n' })
  const stored = await waitFor('3 records', async () => {
    const r = await readAll(samsa.bootstrap, topic)
    return r.length === 3 ? r : undefined
  })
  // kcat cannot set timestamps: wait until the clock has moved past the first batch's.
  const middle = stored[2]!.timestamp + 1
  await new Promise((resolve) => setTimeout(resolve, 20))
  await kcat(['-P', '-t', topic], { input: 'b0\nb1\n' })
  const from = await consumeAll(topic, ['-o', `s@${middle}`])
  assert.deepEqual(from.map((r) => [r.offset, r.payload]), [[3, 'b0'], [4, 'b1']])
  const all = await consumeAll(topic, ['-o', `s@${stored[0]!.timestamp}`])
  assert.equal(all.length, 5)
  // -Q asks ListOffsets for the offset of a timestamp.
  const query = await kcat(['-Q', '-t', `${topic}:0:${middle}`])
  assert.match(query.stdout, new RegExp(`^${topic} \\[0\\] offset 3$`, 'm'))
  const pastTheEnd = await kcat(['-Q', '-t', `${topic}:0:${Date.now() + 3_600_000}`])
  assert.match(pastTheEnd.stdout, new RegExp(`^${topic} \\[0\\] offset -1$`, 'm'))
})

test('balanced consumer (-G) reads a topic through a consumer group', { timeout: 60_000 }, async (t) => {
  if (groupsSkip !== false) {
    t.skip(groupsSkip)
    return
  }
  const topic = autoTopic(t, 'kcat-group')
  await kcat(['-P', '-t', topic, '-K', ':'], { input: 'k1:v1\nk2:v2\n' })
  const { stdout } = await kcat(['-G', uniqueTopic('kcat-group'), '-c', '2', '-J', '-X', 'auto.offset.reset=earliest', topic])
  const records = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as KcatRecord)
  assert.deepEqual(records.map((r) => [r.key, r.payload]), [['k1', 'v1'], ['k2', 'v2']])
})

for (const how of ['clean', 'kill'] as const) {
  test(`acks=all records survive a ${how === 'clean' ? 'clean restart (SIGTERM)' : 'SIGKILL and recovery'}`, { timeout: 60_000 }, async (t) => {
    const topic = uniqueTopic(`kcat-restart-${how}`)
    await createTopicRaw(samsa.bootstrap, topic, 3)
    t.after(() => deleteTopicsRaw(samsa.bootstrap, [topic]))
    const values = Array.from({ length: 300 }, (_, i) => `k${i % 7}:v${i}`)
    // kcat exits 0 only when every message was acknowledged (acks=all).
    await kcat(['-P', '-t', topic, '-K', ':', '-X', 'acks=all', '-z', 'snappy', '-X', 'linger.ms=5'], { input: values.join('\n') + '\n' })
    await samsa.restart(how)
    const records = await consumeAll(topic)
    assert.deepEqual(records.map((r) => r.payload).sort(), values.map((v) => v.split(':')[1]).sort())
    await kcat(['-P', '-t', topic, '-K', ':', '-X', 'acks=all'], { input: 'after:restart\n' })
    assert.equal((await consumeAll(topic)).length, values.length + 1)
  })
}
