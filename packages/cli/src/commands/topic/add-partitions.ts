/** `samsa topic add-partitions`: raises topics' partition counts. */
import { defineCommand, oneOf, parseInteger } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { EXIT_FAILURE } from '../../shared/errors.ts'
import { formatTable, printJson } from '../../shared/output.ts'
import { settle } from '../../shared/settle.ts'

export const topicAddPartitions = defineCommand({
  name: 'topic add-partitions',
  summary: 'Add partitions to topics',
  synopsis: '<topic>... (--num <n> | --total <n>) [options]',
  description: `
Adds partitions to topics: --num adds that many, --total raises the count to that number.
Partitions can only be added, never removed. Keyed records map to partitions by the key's
hash modulo the partition count, so adding partitions moves keys to other partitions.`,
  options: {
    num: { type: 'string', short: 'n', value: '<n>', description: 'Partitions to add' },
    total: { type: 'string', short: 't', value: '<n>', description: 'The new total number of partitions' },
    'dry-run': { type: 'boolean', description: 'Validate only; change nothing' }
  },
  args: { min: 1, max: Infinity, name: 'topic name' },
  examples: [
    'samsa topic add-partitions events --num 3',
    'samsa topic add-partitions events orders --total 12'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const mode = oneOf(options, ['num', 'total'], true)!
    const count = parseInteger(options[mode], `--${mode}`, { min: 1, max: 1_000_000 })
    const dryRun = options['dry-run'] === true
    const { rows } = await withAdmin(bootstrap, async (admin) => {
      const described = await settle(async () => await admin.describeTopics(args))
      const current = new Map((described.result ?? []).map((t) => [t.name, t.partitions.length]))
      const plan = args.map((topic) => {
        const before = current.get(topic)
        return { topic, before: before ?? null, after: before === undefined ? null : mode === 'num' ? before + count : count, error: described.errors.get(`topics/${topic}`) ?? null }
      })
      const todo = plan.filter((p) => p.error === null)
      for (const p of todo) if (p.after! <= p.before!) p.error = `INVALID_PARTITIONS: Topic already has ${p.before} partitions`
      const valid = todo.filter((p) => p.error === null)
      if (valid.length > 0) {
        const outcome = await settle(async () => { await admin.createPartitions(valid.map((p) => ({ topic: p.topic, count: p.after! })), { validateOnly: dryRun }) })
        for (const p of valid) p.error = outcome.errors.get(`topics/${p.topic}`) ?? null
      }
      return { rows: plan }
    })
    if (format === 'json') {
      printJson(io, rows.map((r) => ({ topic: r.topic, ok: r.error === null, dryRun, partitionsBefore: r.before, partitionsAfter: r.error === null ? r.after : r.before, error: r.error })))
    } else {
      io.stdout(formatTable(['topic', 'partitions', 'status'], rows.map((r) => [
        r.topic,
        r.error === null ? `${r.before} -> ${r.after}` : r.before,
        r.error ?? (dryRun ? 'OK (dry run)' : 'OK')
      ])))
    }
    return rows.every((r) => r.error === null) ? 0 : EXIT_FAILURE
  }
})
