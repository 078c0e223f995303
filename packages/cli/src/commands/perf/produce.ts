/**
 * `samsa perf produce`: kafka-producer-perf-test's measurement with @samsa/client: sends
 * --records records of --record-size bytes (optionally capped at --throughput records/s) and
 * reports records/s, MB/s and the send-to-acknowledgment latency percentiles.
 */
import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import { type ProducerOptions, createProducer } from '@samsa/client'
import { defineCommand, parseInteger } from '../../shared/command.ts'
import { cliClientOptions, probe } from '../../shared/connect.ts'
import { EXIT_FAILURE, UsageError, describeKafkaError } from '../../shared/errors.ts'
import { formatPairs, printJson } from '../../shared/output.ts'
import { LatencyHistogram } from '../../perf/histogram.ts'
import { MB, ProgressLine, formatRate } from '../../perf/progress.ts'
import { parseAcks, parseCompression, requireTopic } from '../../shared/producer.ts'

/** Printable random payload (Kafka's tool uses random upper-case letters too). */
function payload (size: number): Buffer {
  const bytes = randomBytes(size)
  for (let i = 0; i < size; i++) bytes[i] = 65 + (bytes[i]! % 26)
  return bytes
}

function round (n: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

export const perfProduce = defineCommand({
  name: 'perf produce',
  summary: 'Measure produce throughput and latency',
  synopsis: '--topic <topic> --records <n> --record-size <bytes> [options]',
  description: `
Sends --records records of --record-size random printable bytes to a topic, as fast as the
producer allows or at most --throughput records per second, and reports throughput
(records/s, MB/s) and the latency from send to acknowledgment (average, p50, p95, p99,
p99.9, max), like kafka-producer-perf-test. On a terminal a progress line is updated every
second. Batching, compression and acks are the producer's settings.`,
  options: {
    topic: { type: 'string', short: 't', value: '<topic>', description: 'Topic to write to (required)' },
    records: { type: 'string', short: 'n', value: '<n>', description: 'Records to send (default: 100000)' },
    'record-size': { type: 'string', short: 's', value: '<bytes>', description: 'Value size (default: 100)' },
    throughput: { type: 'string', value: '<records/s>', description: 'Cap the rate; -1 for no cap (default: -1)' },
    acks: { type: 'string', value: '<0|1|all>', description: 'Acknowledgments (default: all)' },
    compression: { type: 'string', short: 'z', value: '<codec>', description: 'none, gzip, snappy, lz4 or zstd (default: none)' },
    'batch-size': { type: 'string', value: '<bytes>', description: 'Producer batch.size (default: 16384)' },
    'linger-ms': { type: 'string', value: '<ms>', description: 'Producer linger.ms (default: 5)' },
    'buffer-memory': { type: 'string', value: '<bytes>', description: 'Producer buffer.memory (default: 33554432)' },
    'max-in-flight': { type: 'string', value: '<n>', description: 'Produce requests in flight per broker (default: 5)' }
  },
  args: { min: 0, max: 0, name: 'argument' },
  examples: [
    'samsa perf produce --topic bench --records 1000000 --record-size 100',
    'samsa perf produce -t bench -n 100000 -s 1024 --compression lz4 --linger-ms 10 --batch-size 65536',
    'samsa perf produce -t bench -n 50000 -s 200 --throughput 5000 --acks 1 --format json'
  ],
  async run ({ options, bootstrap, format, io }) {
    if (options.topic === undefined) throw new UsageError('--topic is required')
    const topic = options.topic
    const records = parseInteger(options.records ?? '100000', '--records', { min: 1 })
    const size = parseInteger(options['record-size'] ?? '100', '--record-size', { min: 0, max: 64 * MB })
    const throughput = parseInteger(options.throughput ?? '-1', '--throughput', { min: -1 })
    const producerOptions: ProducerOptions = {
      ...cliClientOptions(bootstrap),
      acks: parseAcks(options.acks),
      compression: parseCompression(options.compression),
      batchSize: parseInteger(options['batch-size'] ?? '16384', '--batch-size', { min: 1 }),
      lingerMs: parseInteger(options['linger-ms'] ?? '5', '--linger-ms', { min: 0 }),
      bufferMemory: parseInteger(options['buffer-memory'] ?? String(32 * MB), '--buffer-memory', { min: 1024 }),
      maxInFlightRequestsPerConnection: parseInteger(options['max-in-flight'] ?? '5', '--max-in-flight', { min: 1, max: 5 }),
      maxRequestSize: Math.max(1024 * 1024, size + 1024)
    }
    const value = payload(size)
    const histogram = new LatencyHistogram()
    const producer = createProducer(producerOptions)
    let acked = 0
    let failures = 0
    let firstError: unknown = null
    let sent = 0
    let start = 0
    let elapsedMs = 0
    const progress = new ProgressLine(io, () => {
      const seconds = (performance.now() - start) / 1000
      const s = histogram.summary()
      return `${acked} records sent, ${formatRate(acked / seconds)} records/s (${formatRate(acked * size / MB / seconds, 2)} MB/s), ${s.avg.toFixed(1)} ms avg latency, ${s.max.toFixed(1)} ms max latency`
    })
    try {
      await probe(producer.cluster, bootstrap)
      await requireTopic(producer, topic)
      // Bound the promises waiting for acknowledgments; the producer's buffer bounds the bytes.
      const window = Math.max(1, Math.min(records, Math.floor(producerOptions.bufferMemory! / Math.max(1, size + 64)), 100_000))
      let outstanding = 0
      let wake: (() => void) | null = null
      const settled = (): void => {
        outstanding--
        const w = wake
        wake = null
        w?.()
      }
      start = performance.now()
      for (; sent < records && firstError === null; sent++) {
        while (outstanding >= window) await new Promise<void>((resolve) => { wake = resolve })
        if (throughput > 0) {
          const due = start + sent * 1000 / throughput
          const now = performance.now()
          if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now))
        }
        const sentAt = performance.now()
        outstanding++
        producer.send({ topic, value }).then(() => {
          histogram.record(performance.now() - sentAt)
          acked++
          settled()
        }, (error: unknown) => {
          failures++
          firstError ??= error
          settled()
        })
      }
      while (outstanding > 0) await new Promise<void>((resolve) => { wake = resolve })
      elapsedMs = performance.now() - start
    } finally {
      progress.stop()
      await producer.close()
    }
    const seconds = elapsedMs / 1000
    const latency = histogram.summary()
    const result = {
      topic,
      records: acked,
      failed: failures,
      recordSize: size,
      bytes: acked * size,
      elapsedMs: round(elapsedMs),
      recordsPerSec: round(acked / seconds),
      mbPerSec: round(acked * size / MB / seconds, 3),
      latencyMs: {
        avg: round(latency.avg, 3),
        p50: round(latency.p50, 3),
        p95: round(latency.p95, 3),
        p99: round(latency.p99, 3),
        p999: round(latency.p999, 3),
        max: round(latency.max, 3)
      }
    }
    if (format === 'json') {
      printJson(io, result)
    } else {
      io.stdout(formatPairs([
        ['RECORDS', `${acked} of ${size} bytes${failures > 0 ? ` (${failures} failed)` : ''}`],
        ['ELAPSED', `${seconds.toFixed(2)} s`],
        ['THROUGHPUT', `${formatRate(result.recordsPerSec)} records/s (${result.mbPerSec.toFixed(2)} MB/s)`],
        ['LATENCY-AVG', `${latency.avg.toFixed(2)} ms`],
        ['LATENCY-P50', `${latency.p50.toFixed(2)} ms`],
        ['LATENCY-P95', `${latency.p95.toFixed(2)} ms`],
        ['LATENCY-P99', `${latency.p99.toFixed(2)} ms`],
        ['LATENCY-P99.9', `${latency.p999.toFixed(2)} ms`],
        ['LATENCY-MAX', `${latency.max.toFixed(2)} ms`]
      ]))
    }
    if (firstError !== null) {
      io.stderr(`samsa: ${failures} records failed: ${describeKafkaError(firstError)}\n`)
      return EXIT_FAILURE
    }
    return 0
  }
})
