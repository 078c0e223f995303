// The hard test: a consume-transform-produce application (fixtures/eos-app.mjs, kafkajs, a
// separate process) is killed with SIGKILL at random points many times and restarted each time;
// at the end its output topic, read with read_committed, holds each input record's result exactly
// once, in order per key. A second run also SIGKILLs the broker (`samsa start` as a child process,
// compat/harness.ts) at random points. The seed of the random schedule is printed.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { test, type TestContext } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { CreateTopicsApi, ErrorCode, OffsetFetchApi, ProduceApi, buildRecordBatch } from '@samsa/protocol'
import { type RawClient, connectRaw, startBroker } from '@samsa/testkit'
import { CLI, startSamsa } from '../../../../compat/harness.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const APP = new URL('./fixtures/eos-app.mjs', import.meta.url).pathname
const PARTITIONS = 3
const KEYS = 12
const PER_KEY = 400
const TOTAL = KEYS * PER_KEY

/** mulberry32: a small seeded generator, so a failing schedule can be replayed. */
function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

interface App {
  child: ChildProcess
  /** Records this instance committed. */
  committed: number
  exited: Promise<void>
  alive: boolean
  lastError: string | undefined
}

function startApp (bootstrap: string): App {
  const child = spawn(process.execPath, [APP, bootstrap, 'eos-in', 'eos-out', 'eos-group', 'eos-app'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const app: App = { child, committed: 0, alive: true, lastError: undefined, exited: Promise.resolve() }
  app.exited = new Promise((resolve) => child.once('exit', () => { app.alive = false; resolve() }))
  let buffered = ''
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString()
    let nl
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      try {
        const e = JSON.parse(line) as { event: string, total?: number, why?: string, error?: string }
        if (e.event === 'committed') app.committed = e.total ?? app.committed
        if (e.event === 'exit') app.lastError = `${e.why ?? ''}: ${e.error ?? ''}`
      } catch { /* not ours */ }
    }
  })
  child.stderr.on('data', (d: Buffer) => { app.lastError = d.toString().slice(0, 500) })
  return app
}

async function kill (app: App): Promise<void> {
  if (app.alive) app.child.kill('SIGKILL')
  await app.exited
}

async function createTopics (c: RawClient): Promise<void> {
  const r = await c.request(CreateTopicsApi, 7, {
    topics: ['eos-in', 'eos-out'].map((name) => ({ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] })),
    timeoutMs: 5000,
    validateOnly: false
  })
  for (const t of r.topics) assert.equal(t.errorCode, ErrorCode.NONE)
}

/**
 * Key k<i> goes to partition i % PARTITIONS; its values are k<i>:0, k<i>:1, ... in order. Small
 * batches (one record per key), so each of the application's transactions covers a few records
 * and the work outlasts the kills.
 */
async function produceInput (c: RawClient): Promise<void> {
  for (let i = 0; i < PER_KEY; i++) {
    const partitionData = []
    for (let p = 0; p < PARTITIONS; p++) {
      const records = []
      for (let k = p; k < KEYS; k += PARTITIONS) records.push({ key: `k${k}`, value: `k${k}:${i}` })
      partitionData.push({ index: p, records: buildRecordBatch({ records }) })
    }
    const r = await c.request(ProduceApi, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 'eos-in', partitionData }] })
    for (const x of r.responses[0]!.partitionResponses) assert.equal(x.errorCode, ErrorCode.NONE)
  }
}

async function committedTotal (bootstrap: string): Promise<number> {
  let c: RawClient | undefined
  try {
    c = await connectRaw(bootstrap)
    const r = await c.request(OffsetFetchApi, 7, { groupId: 'eos-group', topics: [{ name: 'eos-in', partitionIndexes: [0, 1, 2] }], groups: [], requireStable: false })
    if (r.errorCode !== ErrorCode.NONE) return -1
    return r.topics[0]!.partitions.reduce((n, p) => n + (p.errorCode === ErrorCode.NONE ? Math.max(Number(p.committedOffset), 0) : 0), 0)
  } catch {
    return -1
  } finally {
    c?.close()
  }
}

async function readOutput (bootstrap: string, readUncommitted: boolean, atLeast: number): Promise<Array<{ key: string, value: string }>> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING, clientId: 'eos-reader' })
  const consumer = kafka.consumer({ groupId: `eos-reader-${readUncommitted ? 'ru' : 'rc'}-${Date.now()}`, maxWaitTimeInMs: 100, readUncommitted })
  await consumer.connect()
  await consumer.subscribe({ topic: 'eos-out', fromBeginning: true })
  const seen: Array<{ key: string, value: string }> = []
  let last = Date.now()
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({ key: message.key!.toString(), value: message.value!.toString() })
      last = Date.now()
      await Promise.resolve()
    }
  })
  const deadline = Date.now() + 30000
  // Until the expected count is reached and nothing more arrives for a while.
  while (Date.now() < deadline && (seen.length < atLeast || Date.now() - last < 700)) await sleep(50)
  await consumer.disconnect()
  return seen
}

function verify (t: TestContext, committed: Array<{ key: string, value: string }>, uncommitted: number): void {
  const values = committed.map((r) => r.value)
  const dupes = values.length - new Set(values).size
  t.diagnostic(`output: ${values.length} records read_committed (${dupes} duplicates), ${uncommitted} read_uncommitted (aborted attempts included)`)
  assert.equal(dupes, 0, 'no result twice')
  assert.equal(values.length, TOTAL, 'every input record has its result')
  const byKey = new Map<string, number[]>()
  for (const r of committed) {
    assert.match(r.value, /^out:k\d+:\d+$/)
    assert.equal(r.value.split(':')[1], r.key)
    byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.value.split(':')[2])])
  }
  assert.equal(byKey.size, KEYS)
  for (const [key, list] of byKey) assert.deepEqual(list, Array.from({ length: PER_KEY }, (_, i) => i), `results of ${key} in order`)
}

/** Runs the application to completion: restarts it whenever it exits, until every input is committed. */
async function finish (bootstrap: string, current: App | undefined, timeoutMs: number): Promise<void> {
  let app = current?.alive === true ? current : startApp(bootstrap)
  const deadline = Date.now() + timeoutMs
  try {
    while (await committedTotal(bootstrap) !== TOTAL) {
      if (Date.now() > deadline) assert.fail(`the application did not finish (last error: ${app.lastError ?? 'none'})`)
      if (!app.alive) app = startApp(bootstrap)
      await sleep(200)
    }
  } finally {
    await kill(app)
  }
}

test('exactly once: the application SIGKILLed at random points 16 times', { timeout: 120_000 }, async (t) => {
  const seed = Number(process.env.SAMSA_EOS_SEED ?? Date.now() % 100000)
  t.diagnostic(`seed ${seed} (SAMSA_EOS_SEED)`)
  const rng = random(seed)
  const b = await startBroker({
    config: { 'group.min.session.timeout.ms': 500, 'transaction.abort.timed.out.transaction.cleanup.interval.ms': 1000 }
  })
  t.after(() => b.stop())
  const c = await connectRaw(b.bootstrap)
  t.after(() => c.close())
  await createTopics(c)
  await produceInput(c)
  const kills: Array<{ after: number, committedByThen: number }> = []
  let app: App | undefined
  for (let i = 0; i < 16; i++) {
    app = startApp(b.bootstrap)
    // Let it commit at least once, then strike anywhere in the next ~500 ms (inside transactions, between them).
    const started = Date.now()
    while (app.alive && app.committed === 0 && Date.now() - started < 15000) await sleep(10)
    await sleep(Math.floor(rng() * 300))
    kills.push({ after: Date.now() - started, committedByThen: await committedTotal(b.bootstrap) })
    await kill(app)
  }
  t.diagnostic(`kills: ${kills.length}, committed input when killed: ${kills.map((k) => k.committedByThen).join(' ')}`)
  await finish(b.bootstrap, undefined, 60000)
  const committed = await readOutput(b.bootstrap, false, TOTAL)
  const uncommitted = await readOutput(b.bootstrap, true, TOTAL)
  verify(t, committed, uncommitted.length)
  assert.ok(uncommitted.length > TOTAL, 'some transactions were cut short and aborted')
})

test('exactly once: the application and the broker (samsa start) SIGKILLed at random points', {
  timeout: 120_000, skip: existsSync(CLI) ? false : `the CLI is not built (${CLI})`
}, async (t) => {
  const seed = Number(process.env.SAMSA_EOS_SEED ?? Date.now() % 100000) + 1
  t.diagnostic(`seed ${seed}`)
  const rng = random(seed)
  const samsa = await startSamsa({ config: { 'group.min.session.timeout.ms': 500, 'transaction.abort.timed.out.transaction.cleanup.interval.ms': 1000 } })
  t.after(() => samsa.stop())
  const c = await connectRaw(samsa.bootstrap)
  await createTopics(c)
  await produceInput(c)
  c.close()
  let app = startApp(samsa.bootstrap)
  let brokerKills = 0
  let appKills = 0
  for (let i = 0; i < 9; i++) {
    if (!app.alive) app = startApp(samsa.bootstrap)
    const started = Date.now()
    const before = app.committed
    while (app.alive && app.committed === before && Date.now() - started < 15000) await sleep(10)
    await sleep(Math.floor(rng() * 300))
    // Broker, application, both: in turn, each at a random moment.
    const which = i % 3
    if (which === 0) {
      await samsa.restart('kill')
      brokerKills++
    } else if (which === 1) {
      await kill(app)
      appKills++
    } else {
      await kill(app)
      await samsa.restart('kill')
      appKills++
      brokerKills++
    }
  }
  t.diagnostic(`broker SIGKILLs: ${brokerKills}, application SIGKILLs: ${appKills}`)
  await finish(samsa.bootstrap, app, 60000)
  const committed = await readOutput(samsa.bootstrap, false, TOTAL)
  const uncommitted = await readOutput(samsa.bootstrap, true, TOTAL)
  verify(t, committed, uncommitted.length)
})
