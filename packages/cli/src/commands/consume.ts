/**
 * `samsa consume <topic>`: prints a topic's records as text (a template), JSON lines or a
 * hex dump, from the beginning, the end, an offset or a time, up to a count, to the end, or
 * following new records until Ctrl-C.
 */
import { createAdmin } from '@samsa/client'
import { defineCommand, parseInteger } from '../shared/command.ts'
import { cliClientOptions, probe } from '../shared/connect.ts'
import { UsageError } from '../shared/errors.ts'
import { parseTimestamp } from '../shared/time.ts'
import { type OutputKind, recordFormatter } from '../records/format.ts'
import { GroupReader } from '../records/group-reader.ts'
import { type ConsumedRecord, PartitionReader, type StartPosition } from '../records/reader.ts'

/** `beginning`, `end`, `<offset>`, `-<n>` (n before the end), `+<n>` (n after the start), `@<time>`. */
export function parseStart (text: string): StartPosition {
  const t = text.trim()
  if (t === 'beginning' || t === 'earliest' || t === 'start' || t === 'oldest') return { kind: 'earliest' }
  if (t === 'end' || t === 'latest' || t === 'newest') return { kind: 'latest' }
  if (t.startsWith('@')) return { kind: 'timestamp', timestamp: parseTimestamp(t.slice(1), '--from time') }
  if (/^-\d+$/.test(t)) return { kind: 'from-end', count: BigInt(t.slice(1)) }
  if (/^\+\d+$/.test(t)) return { kind: 'from-start', count: BigInt(t.slice(1)) }
  if (/^\d+$/.test(t)) return { kind: 'offset', offset: BigInt(t) }
  throw new UsageError(`invalid --from '${text}' (expected beginning, end, an offset, -<n>, +<n> or @<time>)`)
}

const OUTPUTS: readonly OutputKind[] = ['text', 'json', 'hex']

export const consumeCommand = defineCommand({
  name: 'consume',
  summary: 'Print records of a topic',
  synopsis: '<topic> [options]',
  description: `
Prints a topic's records. Reading starts at --from (default: beginning) in every partition,
or only in the --partition ones, and stops at the end offsets found at start, after --count
records, or, with --follow, never: new records are printed as they arrive until Ctrl-C.

--from takes: beginning, end, an offset, -<n> (the last n records of each partition), +<n>
(skip n), or @<time>, the first record at or after a time in ms since the epoch or an ISO
date (@2024-06-10T12:00:00Z).

Outputs: text (the default) prints --template per record, with the fields {{topic}}
{{partition}} {{offset}} {{timestamp}} (ms) {{time}} (ISO) {{timestampType}} {{key}} {{value}}
{{headers}} (name=value,...) and {{header.<name>}}, and the escapes \\n \\t; json prints one
JSON object per line (bytes that are not UTF-8 as {"base64": "..."}); hex prints a hex dump
of keys, values and headers.

With --group the command is a member of a consumer group (with --partition it takes those
partitions itself and commits under the group): each partition starts at the group's
committed offset, else at the earliest (or, with --from end, the latest) offset; an offset or
@time given with --from overrides the commits. Only records that were printed are committed.

With read_committed (the default, like Kafka's consumers) records of aborted and still open
transactions are not shown; read_uncommitted shows everything written.`,
  options: {
    from: { type: 'string', short: 'o', value: '<position>', description: 'beginning, end, <offset>, -<n>, +<n> or @<time> (default: beginning)' },
    group: { type: 'string', short: 'g', value: '<group>', description: 'Consume as a member of a consumer group (commits offsets)' },
    count: { type: 'string', short: 'n', value: '<n>', description: 'Stop after n records' },
    follow: { type: 'boolean', short: 'F', description: 'Keep waiting for new records (until Ctrl-C)' },
    partition: { type: 'string', short: 'p', value: '<n>', multiple: true, description: 'Only this partition (default: all)' },
    isolation: { type: 'string', value: '<level>', description: 'read_committed (default) or read_uncommitted' },
    output: { type: 'string', short: 'O', value: '<text|json|hex>', description: 'Output format (default: text; --format json means json)' },
    template: { type: 'string', short: 't', value: '<template>', description: 'Text output per record (default: {{value}})' }
  },
  args: { min: 1, max: 1, name: 'topic name' },
  examples: [
    'samsa consume events',
    'samsa consume events --from -10 --template \'{{partition}}/{{offset}} {{key}}={{value}}\'',
    'samsa consume events --from @2024-06-10T12:00:00Z --count 100 --output json',
    'samsa consume events --follow --partition 0 --output hex',
    'samsa consume events --group audit --follow'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const topic = args[0]!
    const start = parseStart(options.from ?? 'beginning')
    const limit = options.count === undefined ? Infinity : parseInteger(options.count, '--count', { min: 1 })
    const partitions = options.partition?.map((p) => parseInteger(p, '--partition', { min: 0 }))
    const isolation = options.isolation ?? 'read_committed'
    if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') throw new UsageError(`invalid --isolation '${isolation}' (expected read_committed or read_uncommitted)`)
    const output = (options.output ?? (format === 'json' ? 'json' : 'text')) as OutputKind
    if (!OUTPUTS.includes(output)) throw new UsageError(`invalid --output '${output}' (expected text, json or hex)`)
    if (options.template !== undefined && output !== 'text') throw new UsageError('--template applies to --output text only')
    const formatter = recordFormatter(output, options.template ?? '{{value}}')
    const controller = new AbortController()
    io.onSignal('SIGINT', () => controller.abort())
    io.onSignal('SIGTERM', () => controller.abort())
    const follow = options.follow === true

    const print = async (batches: AsyncIterable<readonly ConsumedRecord[]>, printed: (r: ConsumedRecord) => void): Promise<void> => {
      let count = 0
      for await (const batch of batches) {
        let text = ''
        for (const record of batch) {
          text += formatter(record)
          printed(record)
          if (++count >= limit) break
        }
        io.stdout(text)
        await io.drain?.()
        if (count >= limit) break
      }
    }

    if (options.group !== undefined) {
      const reader = new GroupReader({
        bootstrap, groupId: options.group, topic, partitions, start, explicitStart: options.from !== undefined, isolationLevel: isolation, follow, signal: controller.signal, io
      })
      await print(reader.batches(), (r) => { reader.printed(r) })
      return 0
    }
    const admin = createAdmin({ ...cliClientOptions(bootstrap), allowAutoTopicCreation: false })
    try {
      await probe(admin.cluster, bootstrap)
      const reader = new PartitionReader(admin, { topic, partitions, start, isolationLevel: isolation, follow, signal: controller.signal })
      await print(reader.batches(), () => {})
    } finally {
      await admin.close()
    }
    return 0
  }
})
