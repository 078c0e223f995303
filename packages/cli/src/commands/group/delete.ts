/** `samsa group delete`: deletes inactive groups and their committed offsets. */
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { EXIT_FAILURE } from '../../shared/errors.ts'
import { formatTable, printJson } from '../../shared/output.ts'
import { settle } from '../../shared/settle.ts'

export const groupDelete = defineCommand({
  name: 'group delete',
  summary: 'Delete groups and their offsets',
  synopsis: '<group>... [options]',
  description: `
Deletes consumer groups with their committed offsets. Only groups without active members
can be deleted (NON_EMPTY_GROUP otherwise); a group that does not exist fails with
GROUP_ID_NOT_FOUND. Prints one line per group; exits 1 if any could not be deleted.`,
  options: {},
  args: { min: 1, max: Infinity, name: 'group id' },
  examples: [
    'samsa group delete my-group',
    'samsa group delete old-1 old-2 --format json'
  ],
  async run ({ args, bootstrap, format, io }) {
    const outcome = await withAdmin(bootstrap, async (admin) => await settle(async () => { await admin.deleteGroups(args) }))
    const rows = args.map((group) => ({ group, error: outcome.errors.get(`groups/${group}`) ?? null }))
    if (format === 'json') printJson(io, rows.map((r) => ({ groupId: r.group, ok: r.error === null, error: r.error })))
    else io.stdout(formatTable(['group', 'status'], rows.map((r) => [r.group, r.error ?? 'OK'])))
    return rows.every((r) => r.error === null) ? 0 : EXIT_FAILURE
  }
})
