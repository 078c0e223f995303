/** `samsa group list`: the cluster's groups with their state and type. */
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { formatTable, printJson } from '../../shared/output.ts'

export const groupList = defineCommand({
  name: 'group list',
  summary: 'List consumer groups',
  synopsis: '[options]',
  description: `
Lists the groups of every broker with their coordinator, state (Empty, Stable,
PreparingRebalance, CompletingRebalance, Dead; Assigning, Reconciling for KIP-848 groups),
type (classic or consumer) and protocol type.`,
  options: {
    state: { type: 'string', value: '<state>', multiple: true, description: 'Only groups in this state (Empty, Stable...)' },
    type: { type: 'string', value: '<type>', multiple: true, description: 'Only groups of this type (classic, consumer)' }
  },
  args: { min: 0, max: 0, name: 'argument' },
  examples: [
    'samsa group list',
    'samsa group list --state Empty',
    'samsa group list --format json | jq -r \'.[].groupId\''
  ],
  async run ({ options, bootstrap, format, io }) {
    const groups = await withAdmin(bootstrap, async (admin) => await admin.listGroups({
      ...(options.state === undefined ? {} : { states: options.state }),
      ...(options.type === undefined ? {} : { types: options.type })
    }))
    if (format === 'json') printJson(io, groups)
    else io.stdout(formatTable(['group', 'coordinator', 'state', 'type', 'protocol-type'], groups.map((g) => [g.groupId, g.coordinatorId, g.groupState || null, g.groupType || null, g.protocolType || null])))
    return 0
  }
})
