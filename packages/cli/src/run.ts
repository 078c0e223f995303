/**
 * The `samsa` command line: `samsa <noun> <verb> [arguments]` (and the top-level `start`,
 * `produce` and `consume`), noun-verb like rpk. Returns the exit code: 0 success, 1 failure,
 * 2 bad usage. Global options (--bootstrap, --format) may also come before the command.
 */
import type { CommandIo } from './io.ts'
import type { Command } from './shared/command.ts'
import { startCommand } from './commands/start.ts'
import { produceCommand } from './commands/produce.ts'
import { consumeCommand } from './commands/consume.ts'
import { topicCreate } from './commands/topic/create.ts'
import { topicList } from './commands/topic/list.ts'
import { topicDescribe } from './commands/topic/describe.ts'
import { topicAlterConfig } from './commands/topic/alter-config.ts'
import { topicAddPartitions } from './commands/topic/add-partitions.ts'
import { topicDelete } from './commands/topic/delete.ts'
import { groupList } from './commands/group/list.ts'
import { groupDescribe } from './commands/group/describe.ts'
import { groupResetOffsets } from './commands/group/reset-offsets.ts'
import { groupDelete } from './commands/group/delete.ts'
import { txnList } from './commands/txn/list.ts'
import { txnDescribe } from './commands/txn/describe.ts'
import { producersDescribe } from './commands/producers/describe.ts'
import { clusterInfo } from './commands/cluster/info.ts'
import { perfProduce } from './commands/perf/produce.ts'
import { perfConsume } from './commands/perf/consume.ts'

interface Noun {
  readonly summary: string
  readonly verbs: readonly Command[]
}

/** Nouns and their verbs, in help order. */
const NOUNS: Readonly<Record<string, Noun>> = {
  topic: { summary: 'Create, list, describe, configure, grow and delete topics', verbs: [topicCreate, topicList, topicDescribe, topicAlterConfig, topicAddPartitions, topicDelete] },
  group: { summary: 'List, describe, reset the offsets of and delete consumer groups', verbs: [groupList, groupDescribe, groupResetOffsets, groupDelete] },
  txn: { summary: 'List and describe transactions', verbs: [txnList, txnDescribe] },
  producers: { summary: 'Describe the active producers of a topic', verbs: [producersDescribe] },
  cluster: { summary: 'Describe the cluster', verbs: [clusterInfo] },
  perf: { summary: 'Measure produce and consume throughput and latency', verbs: [perfProduce, perfConsume] }
}

/** Commands without a noun. */
const TOP_LEVEL: readonly Command[] = [produceCommand, consumeCommand]

const START_SUMMARY = 'Run a broker in the foreground'

function commandLines (): string[] {
  const rows: Array<[string, string, string | null]> = [['start', START_SUMMARY, null]]
  for (const c of TOP_LEVEL) rows.push([c.name, c.summary, null])
  for (const [noun, n] of Object.entries(NOUNS)) rows.push([noun, n.summary, n.verbs.map((v) => v.name.slice(noun.length + 1)).join(', ')])
  const width = Math.max(...rows.map(([name]) => name.length))
  return rows.flatMap(([name, text, verbs]) => [
    `  ${name.padEnd(width)}  ${text}`,
    ...(verbs === null ? [] : [`  ${' '.repeat(width)}    ${verbs}`])
  ])
}

export const USAGE = `Usage: samsa <command> [options]

Samsa's command line: run a broker, manage topics, groups and transactions, produce and
consume records, and measure throughput. Every command that talks to a cluster takes
--bootstrap <host:port,...> (or $SAMSA_BOOTSTRAP; default 127.0.0.1:9092); read commands
take --format table|json.

Commands:
${commandLines().join('\n')}

Exit codes: 0 success, 1 a runtime or Kafka error, 2 bad usage.

Examples:
  samsa start
  samsa topic create events --partitions 6
  echo 'hello' | samsa produce events
  samsa consume events --from beginning --count 10
  samsa group describe my-group

Run 'samsa <command> --help' (or 'samsa <noun> --help') for a command's options and examples.
`

function nounUsage (noun: string, n: Noun): string {
  const verb = (c: Command): string => c.name.slice(noun.length + 1)
  const width = Math.max(...n.verbs.map((v) => verb(v).length))
  return [
    `Usage: samsa ${noun} <verb> [options]`,
    '',
    `${n.summary}.`,
    '',
    'Verbs:',
    ...n.verbs.map((v) => `  ${verb(v).padEnd(width)}  ${v.summary}`),
    '',
    'Examples:',
    ...n.verbs.map((v) => `  ${v.examples[0] ?? ''}`),
    '',
    `Run 'samsa ${noun} <verb> --help' for a verb's options and examples.`,
    ''
  ].join('\n')
}

const GLOBAL_WITH_VALUE = new Set(['--bootstrap', '-b', '--format'])

/** Moves global options given before the command to after it: `samsa -b h:1 topic list`. */
function hoistGlobals (argv: readonly string[]): string[] {
  const leading: string[] = []
  let i = 0
  while (i < argv.length) {
    const arg = argv[i]!
    if (GLOBAL_WITH_VALUE.has(arg) && i + 1 < argv.length) {
      leading.push(arg, argv[i + 1]!)
      i += 2
    } else if (arg.startsWith('--bootstrap=') || arg.startsWith('--format=')) {
      leading.push(arg)
      i++
    } else {
      break
    }
  }
  return leading.length === 0 ? [...argv] : [...argv.slice(i), ...leading]
}

function isHelp (arg: string | undefined): boolean {
  return arg === '--help' || arg === '-h' || arg === 'help'
}

export async function run (argv: string[], io: CommandIo): Promise<number> {
  const args = hoistGlobals(argv)
  const [first, ...rest] = args
  if (first === undefined || isHelp(first)) {
    // `samsa help topic` and `samsa help topic create` show those helps.
    if (first === 'help' && rest.length > 0) return await run([...rest, '--help'], io)
    io.stdout(USAGE)
    return first === undefined ? 2 : 0
  }
  if (first === 'start') return await startCommand(rest, io)
  const top = TOP_LEVEL.find((c) => c.name === first)
  if (top !== undefined) return await top.execute(rest, io)
  const noun = NOUNS[first]
  if (noun === undefined) {
    io.stderr(`samsa: unknown command '${first}'\n\n${USAGE}`)
    return 2
  }
  const [verb, ...verbArgs] = rest
  if (verb === undefined || isHelp(verb) || verb.startsWith('-')) {
    const help = verb !== undefined && isHelp(verb)
    if (help) io.stdout(nounUsage(first, noun))
    else io.stderr(`samsa ${first}: missing verb\n\n${nounUsage(first, noun)}`)
    return help ? 0 : 2
  }
  const command = noun.verbs.find((v) => v.name === `${first} ${verb}`)
  if (command === undefined) {
    io.stderr(`samsa ${first}: unknown verb '${verb}'\n\n${nounUsage(first, noun)}`)
    return 2
  }
  return await command.execute(verbArgs, io)
}
