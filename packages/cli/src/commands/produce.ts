/**
 * `samsa produce <topic>`: sends records read from stdin or a file, one per line: the line
 * as the value, a key and a value around --key-separator, or JSON objects with --json.
 */
import { type ProducerOptions, type ProducerRecord, type RecordMetadata, createProducer } from '@samsa/client'
import { type CommandIo, readFileVia } from '../io.ts'
import { defineCommand, parseInteger, parsePair } from '../shared/command.ts'
import { cliClientOptions, probe } from '../shared/connect.ts'
import { CliError, EXIT_FAILURE, UsageError, describeKafkaError } from '../shared/errors.ts'
import { toJson } from '../shared/output.ts'
import { parseAcks, parseCompression, requireTopic } from '../shared/producer.ts'
import { jsonToRecord, parseJsonLine, parseTextLine, readLines } from '../records/input.ts'

/** A small window of sends in flight, so a huge input does not become a huge queue of promises. */
class SendWindow {
  readonly #limit: number
  #inFlight = 0
  #waiters: Array<() => void> = []

  constructor (limit: number) {
    this.#limit = limit
  }

  async acquire (): Promise<void> {
    while (this.#inFlight >= this.#limit) await new Promise<void>((resolve) => this.#waiters.push(resolve))
    this.#inFlight++
  }

  release (): void {
    this.#inFlight--
    this.#waiters.shift()?.()
  }

  async idle (): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }
}

function report (io: CommandIo, format: 'table' | 'json', m: RecordMetadata): void {
  if (format === 'json') io.stdout(toJson({ topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp }) + '\n')
  else io.stdout(`Produced to partition ${m.partition} at offset ${m.offset} with timestamp ${m.timestamp}\n`)
}

export const produceCommand = defineCommand({
  name: 'produce',
  summary: 'Produce records from stdin or a file',
  synopsis: '<topic> [options]',
  description: `
Sends one record per input line, read from stdin (or --file) until its end. By default the
whole line is the value. With --key-separator the part of a line before the first separator
is the key (a line without it has no key). With --json each line is an object:

  {"key": "k1", "value": "v1", "headers": {"source": "cli"}, "partition": 0, "timestamp": 1718000000000}

where key, value and header values are strings, null or {"base64": "..."} (other JSON
values are sent as their JSON text), headers may also be a list of {"key", "value"}, and
timestamp may be an ISO date. This is the shape samsa consume --output json prints.

Records are batched (--linger-ms, --batch-size), compressed with --compression and
acknowledged per --acks; the producer is idempotent with --acks all. Prints nothing unless
--print-offsets is given; exits 1 if any record failed.`,
  options: {
    file: { type: 'string', short: 'f', value: '<path>', description: 'Read records from a file instead of stdin' },
    'key-separator': { type: 'string', short: 'k', value: '<sep>', description: 'Split each line into key and value at the first <sep>' },
    header: { type: 'string', short: 'H', value: '<name=value>', multiple: true, description: 'A header added to every record' },
    json: { type: 'boolean', short: 'j', description: 'Each line is a JSON object (key, value, headers, partition, timestamp)' },
    partition: { type: 'string', short: 'p', value: '<n>', description: 'Send every record to this partition (default: by key, sticky without)' },
    compression: { type: 'string', short: 'z', value: '<codec>', description: 'none, gzip, snappy, lz4 or zstd (default: none)' },
    acks: { type: 'string', value: '<0|1|all>', description: 'Acknowledgments to wait for (default: all)' },
    'linger-ms': { type: 'string', value: '<ms>', description: 'How long a batch waits for more records (default: 5)' },
    'batch-size': { type: 'string', value: '<bytes>', description: 'Target batch size (default: 16384)' },
    'print-offsets': { type: 'boolean', description: 'Print where each record was written' }
  },
  args: { min: 1, max: 1, name: 'topic name' },
  examples: [
    'echo "hello" | samsa produce events',
    'printf "user-1:signed up\\nuser-2:logged in\\n" | samsa produce events --key-separator :',
    'samsa produce events --file records.txt --compression zstd --header source=import',
    'echo \'{"key":"k","value":{"n":1},"headers":{"h":"x"}}\' | samsa produce events --json --print-offsets'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const topic = args[0]!
    const json = options.json === true
    if (json && options['key-separator'] !== undefined) throw new UsageError('--key-separator cannot be combined with --json (give keys in the JSON objects)')
    if (options['key-separator'] === '') throw new UsageError('--key-separator must not be empty')
    const separator = options['key-separator'] === undefined ? null : Buffer.from(options['key-separator'], 'utf8')
    const headers = (options.header ?? []).map((h) => { const [key, value] = parsePair(h, '--header'); return { key, value } })
    const partition = options.partition === undefined ? undefined : parseInteger(options.partition, '--partition', { min: 0 })
    const producerOptions: ProducerOptions = {
      ...cliClientOptions(bootstrap),
      acks: parseAcks(options.acks),
      compression: parseCompression(options.compression),
      lingerMs: options['linger-ms'] === undefined ? 5 : parseInteger(options['linger-ms'], '--linger-ms', { min: 0, max: 60_000 }),
      batchSize: options['batch-size'] === undefined ? 16384 : parseInteger(options['batch-size'], '--batch-size', { min: 1 }),
      requestTimeoutMs: 15_000,
      deliveryTimeoutMs: 30_000,
      maxBlockMs: 15_000
    }
    const printOffsets = options['print-offsets'] === true
    const input = options.file === undefined ? (io.stdin ?? []) : [await readFileVia(io, options.file).catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read '${options.file}': ${error.code === 'ENOENT' ? 'no such file' : error.message}`)
    })]

    const producer = createProducer(producerOptions)
    let failed: unknown = null
    let failures = 0
    let sent = 0
    try {
      await probe(producer.cluster, bootstrap)
      const partitions = await requireTopic(producer, topic)
      if (partition !== undefined && partition >= partitions) throw new CliError(`topic '${topic}' has no partition ${partition} (it has ${partitions})`)
      const window = new SendWindow(10_000)
      let lineNo = 0
      for await (const line of readLines(input)) {
        lineNo++
        let record: ProducerRecord
        if (json) {
          if (line.length === 0 || /^\s*$/.test(line.toString('utf8'))) continue
          record = jsonToRecord(topic, parseJsonLine(line.toString('utf8'), lineNo), headers, partition)
          if (record.partition !== undefined && record.partition >= partitions) throw new CliError(`line ${lineNo}: topic '${topic}' has no partition ${record.partition} (it has ${partitions})`)
        } else {
          const { key, value } = parseTextLine(line, separator)
          record = { topic, key, value, ...(headers.length === 0 ? {} : { headers }), ...(partition === undefined ? {} : { partition }) }
        }
        if (failed !== null) break
        await window.acquire()
        sent++
        producer.send(record).then((m) => {
          if (printOffsets) report(io, format, m)
        }, (error: unknown) => {
          failures++
          failed ??= error
        }).finally(() => window.release())
      }
      await window.idle()
    } finally {
      await producer.close()
    }
    if (failed !== null) {
      io.stderr(`samsa: ${failures} of ${sent} records failed: ${describeKafkaError(failed)}\n`)
      return EXIT_FAILURE
    }
    return 0
  }
})
