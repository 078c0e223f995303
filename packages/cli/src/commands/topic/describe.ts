/** `samsa topic describe`: a topic's summary, configs and partitions with their offsets. */
import type { Admin, ConfigEntry, TopicDescription } from '@samsa/client'
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { EXIT_FAILURE } from '../../shared/errors.ts'
import { formatPairs, formatSection, formatTable, joinSections, printJson } from '../../shared/output.ts'
import { settle } from '../../shared/settle.ts'

interface PartitionOffsets {
  logStartOffset: bigint | null
  highWatermark: bigint | null
}

async function offsetsOf (admin: Admin, topics: readonly TopicDescription[]): Promise<Map<string, PartitionOffsets>> {
  const queries = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition })))
  const out = new Map<string, PartitionOffsets>()
  if (queries.length === 0) return out
  const options = { isolationLevel: 'read_uncommitted' } as const
  const [earliest, latest] = await Promise.all([
    settle(async () => await admin.listOffsets(queries.map((q) => ({ ...q, timestamp: 'earliest' as const })), options)),
    settle(async () => await admin.listOffsets(queries.map((q) => ({ ...q, timestamp: 'latest' as const })), options))
  ])
  for (const q of queries) out.set(`${q.topic}/${q.partition}`, { logStartOffset: null, highWatermark: null })
  for (const o of earliest.result ?? []) out.get(`${o.topic}/${o.partition}`)!.logStartOffset = o.offset
  for (const o of latest.result ?? []) out.get(`${o.topic}/${o.partition}`)!.highWatermark = o.offset
  return out
}

export const topicDescribe = defineCommand({
  name: 'topic describe',
  summary: 'Describe topics: summary, configs and partitions',
  synopsis: '<topic>... [options]',
  description: `
Describes topics in three sections: a summary (id, partitions, replication factor), the
configs set on the topic (all of them, with their sources, with --all-configs) and the
partitions with leader, replicas, in-sync replicas, log start offset and high watermark.`,
  options: {
    'all-configs': { type: 'boolean', short: 'a', description: 'Show every config, defaults included' }
  },
  args: { min: 1, max: Infinity, name: 'topic name' },
  examples: [
    'samsa topic describe events',
    'samsa topic describe events --all-configs',
    'samsa topic describe events orders --format json'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const all = options['all-configs'] === true
    const { topics, errors, offsets } = await withAdmin(bootstrap, async (admin) => {
      const described = await settle(async () => await admin.describeTopics(args, { includeConfigs: true }))
      const topics = described.result ?? []
      return { topics, errors: described.errors, offsets: await offsetsOf(admin, topics) }
    })
    const shownConfigs = (configs: readonly ConfigEntry[] | undefined): ConfigEntry[] =>
      (configs ?? []).filter((c) => all || c.source !== 'DEFAULT_CONFIG' && c.source !== 'STATIC_BROKER_CONFIG' && !c.isDefault).sort((a, b) => a.name < b.name ? -1 : 1)
    const views = topics.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      internal: t.isInternal,
      partitionCount: t.partitions.length,
      replicationFactor: t.partitions[0]?.replicas.length ?? 0,
      configs: shownConfigs(t.configs).map((c) => ({ name: c.name, value: c.isSensitive ? null : c.value, source: c.source, readOnly: c.readOnly, sensitive: c.isSensitive })),
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        replicas: p.replicas,
        isr: p.isr,
        offlineReplicas: p.offlineReplicas,
        ...offsets.get(`${t.name}/${p.partition}`)
      }))
    }))
    if (format === 'json') {
      printJson(io, views)
    } else {
      io.stdout(views.map((v) => joinSections([
        formatSection('Summary', formatPairs([
          ['NAME', v.name], ['ID', v.topicId], ['INTERNAL', v.internal], ['PARTITIONS', v.partitionCount], ['REPLICAS', v.replicationFactor]
        ])),
        formatSection('Configs', v.configs.length === 0
          ? '(none set on the topic; --all-configs shows the defaults)\n'
          : formatTable(['key', 'value', 'source'], v.configs.map((c) => [c.name, c.sensitive ? '(sensitive)' : c.value, c.source]))),
        formatSection('Partitions', formatTable(
          ['partition', 'leader', 'epoch', 'replicas', 'isr', 'log-start-offset', 'high-watermark'],
          v.partitions.map((p) => [p.partition, p.leader, p.leaderEpoch, p.replicas.join(','), p.isr.join(','), p.logStartOffset, p.highWatermark])
        ))
      ])).join('\n'))
    }
    for (const [path, text] of errors) io.stderr(`samsa: topic '${path.slice('topics/'.length)}': ${text}\n`)
    return errors.size > 0 ? EXIT_FAILURE : 0
  }
})
