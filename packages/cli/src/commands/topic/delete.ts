/** `samsa topic delete`: deletes topics and their data. */
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { EXIT_FAILURE } from '../../shared/errors.ts'
import { formatTable, printJson } from '../../shared/output.ts'
import { settle } from '../../shared/settle.ts'

export const topicDelete = defineCommand({
  name: 'topic delete',
  summary: 'Delete topics',
  synopsis: '<topic>... [options]',
  description: `
Deletes topics with all their records. This cannot be undone. Prints one line per topic;
exits 1 if any topic could not be deleted (UNKNOWN_TOPIC_OR_PARTITION for a topic that does
not exist).`,
  options: {},
  args: { min: 1, max: Infinity, name: 'topic name' },
  examples: [
    'samsa topic delete events',
    'samsa topic delete old-1 old-2 --format json'
  ],
  async run ({ args, bootstrap, format, io }) {
    const outcome = await withAdmin(bootstrap, async (admin) => await settle(async () => { await admin.deleteTopics(args) }))
    const rows = args.map((topic) => ({ topic, error: outcome.errors.get(`topics/${topic}`) ?? null }))
    if (format === 'json') printJson(io, rows.map((r) => ({ topic: r.topic, ok: r.error === null, error: r.error })))
    else io.stdout(formatTable(['topic', 'status'], rows.map((r) => [r.topic, r.error ?? 'OK'])))
    return rows.every((r) => r.error === null) ? 0 : EXIT_FAILURE
  }
})
