/**
 * `samsa group reset-offsets`: moves a group's committed offsets (kafka-consumer-groups
 * --reset-offsets). Prints the plan and changes nothing unless --execute is given; refuses
 * while the group has active members, whose commits would overwrite the reset.
 */
import type { Admin, TopicPartition } from '@samsa/client'
import { defineCommand, oneOf, parseInteger } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { CliError, UsageError } from '../../shared/errors.ts'
import { formatTable, printJson } from '../../shared/output.ts'
import { parseTimestamp } from '../../shared/time.ts'
import { isActive } from './state.ts'

const MODES = ['to-earliest', 'to-latest', 'to-datetime', 'to-offset', 'shift-by'] as const
type Mode = typeof MODES[number]

interface TopicSelection {
  topic: string
  /** Null: every partition. */
  partitions: number[] | null
}

/** `events` or `events:0,2,5` (kafka-consumer-groups' syntax). */
function parseTopicArg (text: string): TopicSelection {
  const at = text.lastIndexOf(':')
  if (at < 0) return { topic: text, partitions: null }
  const topic = text.slice(0, at)
  if (topic === '') throw new UsageError(`invalid --topic '${text}' (expected <topic> or <topic>:<partition>,...)`)
  return { topic, partitions: text.slice(at + 1).split(',').map((p) => parseInteger(p, `partition in --topic '${text}'`, { min: 0 })) }
}

interface PlannedOffset extends TopicPartition {
  currentOffset: bigint | null
  newOffset: bigint
}

async function resolvePartitions (admin: Admin, selections: readonly TopicSelection[]): Promise<TopicPartition[]> {
  const described = await admin.describeTopics([...new Set(selections.map((s) => s.topic))])
  const out: TopicPartition[] = []
  for (const s of selections) {
    const count = described.find((d) => d.name === s.topic)!.partitions.length
    for (const p of s.partitions ?? Array.from({ length: count }, (_, i) => i)) {
      if (p >= count) throw new CliError(`topic '${s.topic}' has no partition ${p} (it has ${count})`)
      if (!out.some((o) => o.topic === s.topic && o.partition === p)) out.push({ topic: s.topic, partition: p })
    }
  }
  return out
}

async function plan (admin: Admin, partitions: readonly TopicPartition[], current: ReadonlyMap<string, bigint>, mode: Mode, value: string | undefined): Promise<PlannedOffset[]> {
  const key = (p: TopicPartition): string => `${p.topic}/${p.partition}`
  const list = async (timestamp: 'earliest' | 'latest' | number): Promise<Map<string, bigint>> =>
    new Map((await admin.listOffsets(partitions.map((p) => ({ ...p, timestamp })), { isolationLevel: 'read_uncommitted' })).map((o) => [key(o), o.offset]))
  const [earliest, latest] = await Promise.all([list('earliest'), list('latest')])
  const clamp = (p: TopicPartition, offset: bigint): bigint => {
    const lo = earliest.get(key(p)) ?? 0n
    const hi = latest.get(key(p)) ?? offset
    return offset < lo ? lo : offset > hi ? hi : offset
  }
  let target: (p: TopicPartition) => bigint
  switch (mode) {
    case 'to-earliest':
      target = (p) => earliest.get(key(p)) ?? 0n
      break
    case 'to-latest':
      target = (p) => latest.get(key(p)) ?? 0n
      break
    case 'to-datetime': {
      const found = await list(parseTimestamp(value!, '--to-datetime'))
      // No record at or after the time: the end, as kafka-consumer-groups does.
      target = (p) => { const o = found.get(key(p)); return o === undefined || o < 0n ? latest.get(key(p)) ?? 0n : o }
      break
    }
    case 'to-offset': {
      const offset = BigInt(parseInteger(value, '--to-offset', { min: 0 }))
      target = (p) => clamp(p, offset)
      break
    }
    case 'shift-by': {
      const shift = BigInt(parseInteger(value, '--shift-by'))
      // A partition without a committed offset shifts from its earliest offset.
      target = (p) => clamp(p, (current.get(key(p)) ?? earliest.get(key(p)) ?? 0n) + shift)
      break
    }
  }
  return partitions.map((p) => ({ ...p, currentOffset: current.get(key(p)) ?? null, newOffset: target(p) }))
}

export const groupResetOffsets = defineCommand({
  name: 'group reset-offsets',
  summary: 'Reset a group\'s committed offsets (dry run unless --execute)',
  synopsis: '<group> (--topic <topic[:p,...]>... | --all-topics) <--to-earliest | --to-latest | --to-datetime <time> | --to-offset <n> | --shift-by <n>> [--execute]',
  description: `
Resets a consumer group's committed offsets for the given topics (or, with --all-topics,
every topic it has offsets for), like kafka-consumer-groups --reset-offsets. Without
--execute it only prints the plan: the current and the new offset of each partition.

The group must be inactive (no members, state Empty or Dead): a running consumer would
overwrite the reset with its next commit, so the command refuses while the group is active.

Targets: --to-earliest and --to-latest; --to-datetime, the first offset at or after a time
(ms since the epoch or an ISO date; the end if no record is that recent); --to-offset, an
offset; --shift-by, the committed offset moved by n (negative moves back). Offsets outside
a partition's range are clamped to its earliest or latest offset.`,
  options: {
    topic: { type: 'string', short: 't', value: '<topic[:p,...]>', multiple: true, description: 'A topic, or some of its partitions (events:0,1)' },
    'all-topics': { type: 'boolean', description: 'Every topic the group has committed offsets for' },
    'to-earliest': { type: 'boolean', description: 'Reset to the earliest offset' },
    'to-latest': { type: 'boolean', description: 'Reset to the latest offset (skip everything)' },
    'to-datetime': { type: 'string', value: '<time>', description: 'Reset to the first offset at or after a time' },
    'to-offset': { type: 'string', value: '<n>', description: 'Reset to an offset' },
    'shift-by': { type: 'string', value: '<n>', description: 'Move the committed offset by n (may be negative)' },
    execute: { type: 'boolean', description: 'Apply the plan (default: dry run)' }
  },
  args: { min: 1, max: 1, name: 'group id' },
  examples: [
    'samsa group reset-offsets my-group --topic events --to-earliest',
    'samsa group reset-offsets my-group --topic events --to-earliest --execute',
    'samsa group reset-offsets my-group --topic events:0,1 --shift-by -100 --execute',
    'samsa group reset-offsets my-group --all-topics --to-datetime 2024-06-10T00:00:00Z --execute'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const groupId = args[0]!
    const mode = oneOf(options, MODES, true)!
    const scope = oneOf(options, ['topic', 'all-topics'], true)!
    const selections = scope === 'topic' ? options.topic!.map(parseTopicArg) : []
    const value = mode === 'to-datetime' || mode === 'to-offset' || mode === 'shift-by' ? options[mode] : undefined
    if (mode === 'to-datetime') parseTimestamp(value!, '--to-datetime')
    if (mode === 'to-offset') parseInteger(value, '--to-offset', { min: 0 })
    if (mode === 'shift-by') parseInteger(value, '--shift-by')
    const execute = options.execute === true
    const planned = await withAdmin(bootstrap, async (admin) => {
      const [description] = await admin.describeGroups([groupId])
      if (description !== undefined && isActive(description)) {
        const members = description.members.length
        throw new CliError(`group '${groupId}' is active (state ${description.groupState}, ${members} member${members === 1 ? '' : 's'}): offsets can only be reset while it has no members; stop its consumers first`)
      }
      const committed = (await admin.listConsumerGroupOffsets(groupId)).filter((o) => o.offset >= 0n)
      const current = new Map(committed.map((o) => [`${o.topic}/${o.partition}`, o.offset]))
      const topics = scope === 'topic' ? selections : [...new Set(committed.map((o) => o.topic))].map((topic) => ({ topic, partitions: null }))
      if (topics.length === 0) throw new CliError(`group '${groupId}' has no committed offsets; name the topics with --topic`)
      const partitions = await resolvePartitions(admin, topics)
      const result = await plan(admin, partitions, current, mode, value)
      if (execute) await admin.alterConsumerGroupOffsets(groupId, result.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })))
      return result
    })
    if (format === 'json') {
      printJson(io, { groupId, executed: execute, offsets: planned })
    } else {
      io.stdout(formatTable(['group', 'topic', 'partition', 'current-offset', 'new-offset'], planned.map((p) => [groupId, p.topic, p.partition, p.currentOffset, p.newOffset])))
      io.stderr(execute ? `Reset ${planned.length} offset${planned.length === 1 ? '' : 's'} of group '${groupId}'\n` : 'Dry run: nothing changed (add --execute to apply)\n')
    }
    return 0
  }
})
