/** `samsa perf produce` and `samsa perf consume`: summaries in table and JSON, progress lines only on a terminal. */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
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

test('perf produce: throughput and latency percentiles; perf consume reads them back', async () => {
  const topic = uniqueName('perf')
  assert.equal((await cli(['topic', 'create', topic, '-p', '3'])).code, 0)
  const produced = await cli(['perf', 'produce', '--topic', topic, '--records', '20000', '--record-size', '200', '--compression', 'lz4', '--format', 'json'])
  assert.equal(produced.code, 0, produced.stderr)
  const p = produced.json()
  assert.equal(p.records, 20000)
  assert.equal(p.failed, 0)
  assert.equal(p.bytes, 20000 * 200)
  assert.ok(p.recordsPerSec > 0 && p.mbPerSec > 0 && p.elapsedMs > 0)
  const l = p.latencyMs
  assert.ok(l.p50 > 0 && l.p50 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l))
  assert.ok(l.avg <= l.max)

  const table = await cli(['perf', 'produce', '-t', topic, '-n', '1000', '-s', '10', '--acks', '1', '--linger-ms', '0', '--batch-size', '1024'])
  assert.equal(table.code, 0, table.stderr)
  const rows = tableRows(table.stdout)
  assert.deepEqual(rows.map((r) => r[0]), ['RECORDS', 'ELAPSED', 'THROUGHPUT', 'LATENCY-AVG', 'LATENCY-P50', 'LATENCY-P95', 'LATENCY-P99', 'LATENCY-P99.9', 'LATENCY-MAX'])
  assert.equal(rows[0]![1], '1000 of 10 bytes')
  assert.match(rows[2]![1]!, /^[\d,.]+ records\/s \([\d.]+ MB\/s\)$/)
  assert.match(rows[4]![1]!, /^\d+\.\d\d ms$/)
  assert.ok(!table.stdout.includes('\r'), 'no progress line when stdout is not a terminal')

  const consumed = await cli(['perf', 'consume', '--topic', topic, '--format', 'json'])
  assert.equal(consumed.code, 0, consumed.stderr)
  const c = consumed.json()
  assert.equal(c.records, 21000)
  assert.equal(c.bytes, 20000 * 200 + 1000 * 10)
  assert.ok(c.fetchedBytes > 0 && c.recordsPerSec > 0 && c.firstRecordMs !== null)
  const some = await cli(['perf', 'consume', '-t', topic, '--records', '500'])
  assert.equal(some.code, 0)
  assert.deepEqual(tableRows(some.stdout).map((r) => r[0]), ['RECORDS', 'DATA', 'ELAPSED', 'FIRST-RECORD', 'THROUGHPUT'])
  assert.equal(tableRows(some.stdout)[0]![1], '500')
  const tooMany = await cli(['perf', 'consume', '-t', topic, '--records', '30000', '--timeout', '300', '--format', 'json'])
  assert.equal(tooMany.code, 1)
  assert.equal(tooMany.json().records, 21000)
  assert.equal(tooMany.stderr, 'samsa: read 21000 of 30000 records: none arrived for 300 ms\n')
})

test('perf produce on a terminal draws a progress line with \\r, then clears it for the summary', async () => {
  const topic = uniqueName('perf-tty')
  assert.equal((await cli(['topic', 'create', topic])).code, 0)
  const r = await cli(['perf', 'produce', '-t', topic, '-n', '3000', '-s', '50', '--throughput', '2000'], { isTTY: true })
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^\r\d+ records sent, [\d,.]+ records\/s \([\d.]+ MB\/s\), [\d.]+ ms avg latency, [\d.]+ ms max latency/)
  const summary = r.stdout.slice(r.stdout.lastIndexOf('\r') + 1)
  assert.match(summary, /^RECORDS +3000 of 50 bytes\n/)
  const p = (await cli(['perf', 'produce', '-t', topic, '-n', '10', '--format', 'json'], { isTTY: true })).json()
  assert.equal(p.records, 10)
})
