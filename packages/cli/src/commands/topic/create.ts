/** `samsa topic create`: creates topics with a partition count, replication factor and configs. */
import { defineCommand, parseInteger, parsePair } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { EXIT_FAILURE } from '../../shared/errors.ts'
import { formatTable, printJson } from '../../shared/output.ts'
import { settle } from '../../shared/settle.ts'

export const topicCreate = defineCommand({
  name: 'topic create',
  summary: 'Create topics',
  synopsis: '<topic>... [options]',
  description: `
Creates one or more topics. Partitions and replication factor default to the broker's
num.partitions and default.replication.factor; topic configs use Kafka's names
(cleanup.policy, retention.ms, ...). With --dry-run the broker validates the request without
creating anything. Prints one line per topic; exits 1 if any topic could not be created.`,
  options: {
    partitions: { type: 'string', short: 'p', value: '<n>', description: 'Number of partitions (default: the broker\'s num.partitions)' },
    'replication-factor': { type: 'string', short: 'r', value: '<n>', description: 'Replicas per partition (default: the broker\'s default.replication.factor)' },
    config: { type: 'string', short: 'c', value: '<name=value>', multiple: true, description: 'A topic config' },
    'dry-run': { type: 'boolean', description: 'Validate only; create nothing' }
  },
  args: { min: 1, max: Infinity, name: 'topic name' },
  examples: [
    'samsa topic create events',
    'samsa topic create events --partitions 6 --config retention.ms=86400000',
    'samsa topic create compacted -p 3 -c cleanup.policy=compact -c min.cleanable.dirty.ratio=0.1',
    'samsa topic create a b c --dry-run --format json'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const numPartitions = options.partitions === undefined ? -1 : parseInteger(options.partitions, '--partitions', { min: 1, max: 1_000_000 })
    const replicationFactor = options['replication-factor'] === undefined ? -1 : parseInteger(options['replication-factor'], '--replication-factor', { min: 1, max: 32767 })
    const configs = Object.fromEntries((options.config ?? []).map((c) => parsePair(c, '--config')))
    const dryRun = options['dry-run'] === true
    const outcome = await withAdmin(bootstrap, async (admin) => await settle(async () => await admin.createTopics(
      args.map((name) => ({ name, numPartitions, replicationFactor, configs })),
      { validateOnly: dryRun }
    )))
    const created = new Map((outcome.result ?? []).map((t) => [t.name, t]))
    const rows = args.map((name) => {
      const t = created.get(name)
      return { topic: name, ok: t !== undefined, partitions: t?.numPartitions ?? null, replicationFactor: t?.replicationFactor ?? null, topicId: t?.topicId ?? null, error: outcome.errors.get(`topics/${name}`) ?? null }
    })
    if (format === 'json') {
      printJson(io, rows.map((r) => ({ ...r, dryRun })))
    } else {
      io.stdout(formatTable(['topic', 'status'], rows.map((r) => [r.topic, r.ok ? (dryRun ? 'OK (dry run)' : 'OK') : r.error])))
    }
    return rows.every((r) => r.ok) ? 0 : EXIT_FAILURE
  }
})
