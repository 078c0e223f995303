/** `samsa topic alter-config`: sets or removes topic configs (IncrementalAlterConfigs). */
import { type ConfigChange, ConfigResourceType } from '@samsa/client'
import { defineCommand, parsePair } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { EXIT_FAILURE, UsageError } from '../../shared/errors.ts'
import { formatTable, printJson } from '../../shared/output.ts'
import { settle } from '../../shared/settle.ts'

export const topicAlterConfig = defineCommand({
  name: 'topic alter-config',
  summary: 'Set or remove topic configs',
  synopsis: '<topic>... (--set <name=value> | --delete <name>)... [options]',
  description: `
Changes topic configs incrementally: --set gives a config a value on the topic, --delete
removes the topic's value so the broker default applies again. Other configs are left as
they are. With --dry-run the broker validates the change without applying it.`,
  options: {
    set: { type: 'string', short: 's', value: '<name=value>', multiple: true, description: 'Set a config' },
    delete: { type: 'string', short: 'd', value: '<name>', multiple: true, description: 'Remove a config (back to the default)' },
    append: { type: 'string', value: '<name=value>', multiple: true, description: 'Append to a list config' },
    subtract: { type: 'string', value: '<name=value>', multiple: true, description: 'Remove a value from a list config' },
    'dry-run': { type: 'boolean', description: 'Validate only; change nothing' }
  },
  args: { min: 1, max: Infinity, name: 'topic name' },
  examples: [
    'samsa topic alter-config events --set retention.ms=3600000',
    'samsa topic alter-config events --delete retention.ms',
    'samsa topic alter-config events -s cleanup.policy=compact -s min.compaction.lag.ms=60000 --dry-run'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const changes: ConfigChange[] = [
      ...(options.set ?? []).map((s) => { const [name, value] = parsePair(s, '--set'); return { name, value, op: 'set' as const } }),
      ...(options.delete ?? []).map((name) => ({ name, op: 'delete' as const })),
      ...(options.append ?? []).map((s) => { const [name, value] = parsePair(s, '--append'); return { name, value, op: 'append' as const } }),
      ...(options.subtract ?? []).map((s) => { const [name, value] = parsePair(s, '--subtract'); return { name, value, op: 'subtract' as const } })
    ]
    if (changes.length === 0) throw new UsageError('nothing to change: give --set, --delete, --append or --subtract')
    const dryRun = options['dry-run'] === true
    const outcome = await withAdmin(bootstrap, async (admin) => await settle(async () => {
      await admin.incrementalAlterConfigs(args.map((name) => ({ type: ConfigResourceType.TOPIC, name, configs: changes })), { validateOnly: dryRun })
    }))
    const rows = args.map((topic) => ({ topic, error: outcome.errors.get(`configs/${ConfigResourceType.TOPIC}/${topic}`) ?? null }))
    if (format === 'json') {
      printJson(io, rows.map((r) => ({ topic: r.topic, ok: r.error === null, dryRun, changes, error: r.error })))
    } else {
      io.stdout(formatTable(['topic', 'status'], rows.map((r) => [r.topic, r.error ?? (dryRun ? 'OK (dry run)' : 'OK')])))
    }
    return rows.every((r) => r.error === null) ? 0 : EXIT_FAILURE
  }
})
