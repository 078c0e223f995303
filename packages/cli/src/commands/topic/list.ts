/** `samsa topic list`: topic names with their partition counts and replication factors. */
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { formatTable, printJson } from '../../shared/output.ts'

export const topicList = defineCommand({
  name: 'topic list',
  summary: 'List topics',
  synopsis: '[options]',
  description: `
Lists the cluster's topics, sorted by name, with their partition counts and replication
factors. Internal topics (__consumer_offsets, __transaction_state) are shown with --internal.`,
  options: {
    internal: { type: 'boolean', short: 'i', description: 'Include internal topics' }
  },
  args: { min: 0, max: 0, name: 'argument' },
  examples: [
    'samsa topic list',
    'samsa topic list --internal',
    'samsa topic list --format json | jq -r \'.[].name\''
  ],
  async run ({ options, bootstrap, format, io }) {
    const topics = await withAdmin(bootstrap, async (admin) => {
      const names = await admin.listTopics({ includeInternal: options.internal === true })
      const metadata = admin.cluster.metadata
      return names.map((name) => {
        const t = metadata.topics.get(name)
        return {
          name,
          partitions: t?.partitions.length ?? 0,
          replicationFactor: t?.partitions[0]?.replicaNodes.length ?? 0,
          internal: t?.isInternal ?? false,
          topicId: t?.topicId ?? null
        }
      })
    })
    if (format === 'json') printJson(io, topics)
    else io.stdout(formatTable(['name', 'partitions', 'replicas', ...(options.internal === true ? ['internal'] : [])], topics.map((t) => [t.name, t.partitions, t.replicationFactor, ...(options.internal === true ? [t.internal] : [])])))
    return 0
  }
})
