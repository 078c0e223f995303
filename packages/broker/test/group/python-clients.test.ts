// librdkafka (confluent-kafka-python, kcat) and kafka-python consumer groups against an
// in-process broker. The client scripts are in compat/python/; each prints one JSON document.
// Skipped with a message when /usr/bin/python3 or the client module is missing.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { type TestBroker, connectRaw, startBroker } from '@samsa/testkit'
import { createTopic, fetchOffsets, produce } from './helpers.ts'

const PYTHON = '/usr/bin/python3'
const SCRIPTS = join(import.meta.dirname, '../../../../compat/python')

function skipReason (module: string): string | false {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`
  const probe = spawnSync(PYTHON, ['-c', `import ${module}`])
  return probe.status === 0 ? false : `the Python module ${module} is not installed (${probe.stderr.toString().trim().split('\n').at(-1) ?? ''})`
}

async function runScript (script: string, args: string[], timeoutMs = 90_000): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(SCRIPTS, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`${script} exited with ${code}:\n${err}`))
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>)
    })
  })
}

async function topicWithRecords (t: TestContext, b: TestBroker, topic: string): Promise<void> {
  const c = await connectRaw(b.bootstrap)
  t.after(() => c.close())
  await createTopic(c, topic, 4)
  for (let p = 0; p < 4; p++) await produce(c, topic, p, Array.from({ length: 10 }, (_, i) => `${topic}-${p}-${i}`))
}

const confluentSkip = skipReason('confluent_kafka')
for (const strategy of ['range', 'roundrobin', 'cooperative-sticky']) {
  test(`confluent-kafka-python (librdkafka), ${strategy}: split, consume, commit, leave, take over`, { skip: confluentSkip, timeout: 120_000 }, async (t) => {
    const b = await startBroker()
    t.after(() => b.stop())
    const topic = `rdk-${strategy}`
    await topicWithRecords(t, b, topic)
    const r = await runScript('group_confluent.py', [b.bootstrap, topic, `rdk-group-${strategy}`, strategy])
    t.diagnostic(JSON.stringify({ split: r.split, events: r.events, commitErrors: r.commitErrors }))
    assert.deepEqual(r.ok, { first: true, split: true, all: true, committed: true, takeover: true })
    const split = r.split as { a: number[], b: number[] }
    assert.deepEqual([...split.a, ...split.b].sort(), [0, 1, 2, 3])
    assert.equal(r.consumed, 40)
    assert.deepEqual(r.committed, [10, 10, 10, 10])
    const events = r.events as Array<{ consumer: string, event: string, partitions: number[] }>
    if (strategy === 'cooperative-sticky') {
      // Incremental: when b joins, a gives up only the partitions b gets.
      const firstRevoke = events.find((e) => e.consumer === 'a' && e.event === 'revoke')!
      assert.equal(firstRevoke.partitions.length, 2, JSON.stringify(events))
    }
    const c = await connectRaw(b.bootstrap)
    t.after(() => c.close())
    const offsets = await fetchOffsets(c, `rdk-group-${strategy}`, null)
    assert.deepEqual(offsets.topics[0]!.partitions.map((p) => Number(p.committedOffset)), [10, 10, 10, 10])
  })
}

test('kafka-python 2.0.2: split, consume, commit, leave, take over, resume from commits', { skip: skipReason('kafka'), timeout: 120_000 }, async (t) => {
  const b = await startBroker()
  t.after(() => b.stop())
  await topicWithRecords(t, b, 'kp')
  const r = await runScript('group_kafka_python.py', [b.bootstrap, 'kp', 'kp-group'])
  t.diagnostic(JSON.stringify(r))
  assert.deepEqual(r.ok, { first: true, split: true, all: true, takeover: true, resume: true })
  assert.equal(r.consumed, 40)
  assert.deepEqual(r.committed, [10, 10, 10, 10])
  assert.equal(r.resumed, 0)
})

test('kcat -G (librdkafka balanced consumer) reads every record and commits', { skip: existsSync('/usr/bin/kcat') ? false : 'kcat is not installed', timeout: 60_000 }, async (t) => {
  const b = await startBroker()
  t.after(() => b.stop())
  await topicWithRecords(t, b, 'kc')
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('/usr/bin/kcat', ['-b', b.bootstrap, '-G', 'kcat-group', '-X', 'auto.offset.reset=earliest', '-X', 'enable.auto.commit=true', '-X', 'auto.commit.interval.ms=100', '-e', '-q', '-f', '%p:%o\\n', 'kc'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
    child.stdout.on('data', (d: Buffer) => { text += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('exit', (code) => { clearTimeout(timer); if (code === 0) resolve(text); else reject(new Error(`kcat exited with ${code}: ${err}`)) })
  })
  assert.equal(new Set(out.trim().split('\n')).size, 40)
  const c = await connectRaw(b.bootstrap)
  t.after(() => c.close())
  const offsets = await fetchOffsets(c, 'kcat-group', null)
  assert.deepEqual(offsets.topics[0]!.partitions.map((p) => Number(p.committedOffset)), [10, 10, 10, 10])
})
