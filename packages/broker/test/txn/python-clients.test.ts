// librdkafka transactions: confluent-kafka-python 1.7.0 (librdkafka 2.0.2) commits and aborts
// transactions and runs a consume-transform-produce loop with send_offsets_to_transaction;
// read_committed consumers see only committed records, read_uncommitted ones see both; kcat
// (librdkafka too) reads the same partitions with each isolation.level and agrees. Skipped with
// a message when /usr/bin/python3, confluent_kafka or kcat is missing.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { startBroker } from '@samsa/testkit'
import { connect, createTopic } from '../helpers.ts'

const PYTHON = '/usr/bin/python3'
const SCRIPTS = join(import.meta.dirname, '../../../../compat/python')

function skipReason (): string | false {
  if (!existsSync(PYTHON)) return `${PYTHON} is not installed`
  const probe = spawnSync(PYTHON, ['-c', 'import confluent_kafka'])
  return probe.status === 0 ? false : 'the Python module confluent_kafka is not installed'
}

async function run (command: string, args: string[], timeoutMs = 90_000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`${command} exited with ${code}:\n${err}`))
      else resolve(out)
    })
  })
}

interface Result {
  committed: string[]
  uncommitted: string[]
  outCommitted: string[]
  outUncommitted: string[]
  processed: number
  aborted: number
  offsets: Record<string, number>
}

const range = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`)

test('confluent-kafka-python transactions; read_committed vs read_uncommitted; kcat agrees', { skip: skipReason(), timeout: 120_000 }, async (t) => {
  const b = await startBroker()
  t.after(() => b.stop())
  const c = await connect(t, b)
  await createTopic(c, 'py-txn', { partitions: 2 })
  await createTopic(c, 'py-in', { partitions: 2 })
  await createTopic(c, 'py-out', { partitions: 2 })
  const out = await run(PYTHON, [join(SCRIPTS, 'txn_confluent.py'), b.bootstrap, 'py-txn', 'py-in', 'py-out'])
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as Result
  t.diagnostic(JSON.stringify({ processed: r.processed, aborted: r.aborted, offsets: r.offsets }))
  const committed = [...range('c', 0, 15)].sort()
  assert.deepEqual(r.committed, committed)
  assert.deepEqual(r.uncommitted, [...committed, ...range('a', 0, 10)].sort())
  const outputs = Array.from({ length: 40 }, (_, i) => `out-${i}`).sort()
  assert.equal(r.processed, 40)
  assert.deepEqual(r.outCommitted, outputs, 'each input transformed once, the aborted batch invisible')
  assert.ok(r.aborted > 0)
  assert.equal(r.outUncommitted.length, 40 + r.aborted)
  assert.ok(r.outUncommitted.includes('aborted'))
  assert.equal(Object.values(r.offsets).reduce((n, o) => n + Math.max(o, 0), 0), 40, 'offsets committed through the transactions (-1001: a partition without input)')

  const kcat = '/usr/bin/kcat'
  if (!existsSync(kcat)) {
    t.diagnostic('kcat is not installed: skipping the kcat checks')
    return
  }
  const kcatRead = async (topic: string, isolation: string): Promise<string[]> => {
    const text = await run(kcat, ['-b', b.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-X', `isolation.level=${isolation}`, '-f', '%s\\n'])
    return text.split('\n').filter((l) => l !== '').sort()
  }
  assert.deepEqual(await kcatRead('py-txn', 'read_committed'), r.committed)
  assert.deepEqual(await kcatRead('py-txn', 'read_uncommitted'), r.uncommitted)
  assert.deepEqual(await kcatRead('py-out', 'read_committed'), r.outCommitted)
  assert.deepEqual(await kcatRead('py-out', 'read_uncommitted'), r.outUncommitted)
})
