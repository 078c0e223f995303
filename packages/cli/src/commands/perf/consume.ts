/**
 * `samsa perf consume`: kafka-consumer-perf-test's measurement: reads --records records (or
 * everything up to the end) and reports records/s and MB/s of keys and values, and the time
 * to the first record.
 */
import { performance } from 'node:perf_hooks'
import { clearTimeout, setTimeout } from 'node:timers'
import { createAdmin } from '@samsa/client'
import { defineCommand, parseInteger } from '../../shared/command.ts'
import { cliClientOptions, probe } from '../../shared/connect.ts'
import { CliError, UsageError } from '../../shared/errors.ts'
import { formatPairs, printJson } from '../../shared/output.ts'
import { MB, ProgressLine, formatRate } from '../../perf/progress.ts'
import { PartitionReader } from '../../records/reader.ts'
import { parseStart } from '../consume.ts'

function round (n: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

export const perfConsume = defineCommand({
  name: 'perf consume',
  summary: 'Measure consume throughput',
  synopsis: '--topic <topic> [--records <n>] [options]',
  description: `
Reads a topic as fast as possible and reports throughput (records/s, and MB/s of keys and
values), the bytes fetched and the time to the first record, like
kafka-consumer-perf-test. Without --records it reads every partition from --from (default:
beginning) to the end offsets found at start; with --records it waits for that many
records, giving up after --timeout ms without a new record. On a terminal a progress line is
updated every second.`,
  options: {
    topic: { type: 'string', short: 't', value: '<topic>', description: 'Topic to read (required)' },
    records: { type: 'string', short: 'n', value: '<n>', description: 'Records to read (default: up to the end)' },
    from: { type: 'string', short: 'o', value: '<position>', description: 'beginning, end, <offset>, -<n>, +<n> or @<time> (default: beginning)' },
    timeout: { type: 'string', value: '<ms>', description: 'Give up after this long without a record (default: 10000)' },
    isolation: { type: 'string', value: '<level>', description: 'read_committed (default) or read_uncommitted' },
    'fetch-size': { type: 'string', value: '<bytes>', description: 'Bytes per partition per fetch (default: 1048576)' }
  },
  args: { min: 0, max: 0, name: 'argument' },
  examples: [
    'samsa perf consume --topic bench',
    'samsa perf consume -t bench --records 1000000 --fetch-size 4194304',
    'samsa perf consume -t bench --format json'
  ],
  async run ({ options, bootstrap, format, io }) {
    if (options.topic === undefined) throw new UsageError('--topic is required')
    const topic = options.topic
    const wanted = options.records === undefined ? null : parseInteger(options.records, '--records', { min: 1 })
    const timeoutMs = parseInteger(options.timeout ?? '10000', '--timeout', { min: 1 })
    const isolation = options.isolation ?? 'read_committed'
    if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') throw new UsageError(`invalid --isolation '${isolation}' (expected read_committed or read_uncommitted)`)
    const fetchSize = parseInteger(options['fetch-size'] ?? String(MB), '--fetch-size', { min: 1024 })
    const start = parseStart(options.from ?? 'beginning')

    const controller = new AbortController()
    io.onSignal('SIGINT', () => controller.abort())
    let idle: ReturnType<typeof setTimeout> | null = null
    let timedOut = false
    const armIdle = (): void => {
      if (idle !== null) clearTimeout(idle)
      idle = setTimeout(() => { timedOut = true; controller.abort() }, timeoutMs)
    }
    const admin = createAdmin(cliClientOptions(bootstrap))
    let records = 0
    let bytes = 0
    let begin = 0
    let firstRecordMs: number | null = null
    let elapsedMs = 0
    let fetchedBytes = 0
    const progress = new ProgressLine(io, () => {
      const seconds = (performance.now() - begin) / 1000
      return `${records} records read, ${formatRate(records / seconds)} records/s (${formatRate(bytes / MB / seconds, 2)} MB/s)`
    })
    try {
      await probe(admin.cluster, bootstrap)
      const reader = new PartitionReader(admin, { topic, start, isolationLevel: isolation, follow: wanted !== null, partitionMaxBytes: fetchSize, signal: controller.signal })
      begin = performance.now()
      armIdle()
      for await (const batch of reader.batches()) {
        if (firstRecordMs === null) firstRecordMs = performance.now() - begin
        armIdle()
        for (const r of batch) {
          bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0)
          if (++records === wanted) break
        }
        if (records === wanted) break
      }
      elapsedMs = performance.now() - begin
      fetchedBytes = reader.bytesRead
    } finally {
      if (idle !== null) clearTimeout(idle)
      progress.stop()
      await admin.close()
    }
    const seconds = elapsedMs / 1000
    const result = {
      topic,
      records,
      bytes,
      fetchedBytes,
      elapsedMs: round(elapsedMs),
      firstRecordMs: firstRecordMs === null ? null : round(firstRecordMs),
      recordsPerSec: seconds > 0 ? round(records / seconds) : 0,
      mbPerSec: seconds > 0 ? round(bytes / MB / seconds, 3) : 0
    }
    if (format === 'json') {
      printJson(io, result)
    } else {
      io.stdout(formatPairs([
        ['RECORDS', records],
        ['DATA', `${(bytes / MB).toFixed(2)} MB (${(fetchedBytes / MB).toFixed(2)} MB fetched)`],
        ['ELAPSED', `${seconds.toFixed(2)} s`],
        ['FIRST-RECORD', firstRecordMs === null ? null : `${firstRecordMs.toFixed(1)} ms`],
        ['THROUGHPUT', `${formatRate(result.recordsPerSec)} records/s (${result.mbPerSec.toFixed(2)} MB/s)`]
      ]))
    }
    if (timedOut && wanted !== null && records < wanted) throw new CliError(`read ${records} of ${wanted} records: none arrived for ${timeoutMs} ms`)
    return 0
  }
})
