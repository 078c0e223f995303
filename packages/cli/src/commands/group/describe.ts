/**
 * `samsa group describe`: like `kafka-consumer-groups --describe`: the group's state and
 * protocol, its members, and per partition the committed offset, log end offset and lag.
 */
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { formatPairs, formatSection, formatTable, joinSections, printJson } from '../../shared/output.ts'
import { type GroupView, describeGroupView } from './state.ts'

function assignmentText (assignment: ReadonlyArray<{ topic: string, partitions: readonly number[] }>): string {
  return assignment.map((a) => `${a.topic}:${[...a.partitions].sort((x, y) => x - y).join(',')}`).join(' ') || '-'
}

function toJsonView (view: GroupView, coordinator: { id: number, host: string | null, port: number | null }): unknown {
  const d = view.description
  return {
    groupId: d.groupId,
    state: d.groupState,
    type: d.groupType,
    protocolType: d.protocolType,
    protocol: d.protocolData,
    coordinator,
    members: d.members.map((m) => ({
      memberId: m.memberId,
      instanceId: m.groupInstanceId,
      clientId: m.clientId,
      host: m.clientHost,
      assignment: m.assignment
    })),
    offsets: view.partitions,
    totalLag: view.totalLag
  }
}

export const groupDescribe = defineCommand({
  name: 'group describe',
  summary: 'Describe groups: members, assignments, offsets and lag',
  synopsis: '<group>... [options]',
  description: `
Describes consumer groups as kafka-consumer-groups --describe does: the group's state,
protocol type and assignor, its members (member id, client id, host and assigned
partitions) and, for every partition with a committed offset or an owner, the committed
offset, the log end offset and the lag between them.`,
  options: {},
  args: { min: 1, max: Infinity, name: 'group id' },
  examples: [
    'samsa group describe my-group',
    'samsa group describe my-group --format json | jq .totalLag'
  ],
  async run ({ args, bootstrap, format, io }) {
    const results = await withAdmin(bootstrap, async (admin) => {
      const out = []
      for (const groupId of args) {
        const view = await describeGroupView(admin, groupId)
        const broker = admin.cluster.broker(view.description.coordinatorId)
        out.push({ view, coordinator: { id: view.description.coordinatorId, host: broker?.host ?? null, port: broker?.port ?? null } })
      }
      return out
    })
    if (format === 'json') {
      const views = results.map((r) => toJsonView(r.view, r.coordinator))
      printJson(io, args.length === 1 ? views[0] : views)
      return 0
    }
    io.stdout(results.map(({ view, coordinator }) => {
      const d = view.description
      return joinSections([
        formatPairs([
          ['GROUP', d.groupId],
          ['COORDINATOR', `${coordinator.id}${coordinator.host === null ? '' : ` (${coordinator.host}:${coordinator.port})`}`],
          ['STATE', d.groupState],
          ['TYPE', d.groupType],
          ['PROTOCOL-TYPE', d.protocolType || null],
          ['PROTOCOL', d.protocolData || null],
          ['MEMBERS', d.members.length],
          ['TOTAL-LAG', view.totalLag]
        ]),
        formatSection('Members', d.members.length === 0
          ? '(none)\n'
          : formatTable(['member-id', 'instance-id', 'client-id', 'host', 'assignment'], d.members.map((m) => [m.memberId, m.groupInstanceId, m.clientId, m.clientHost, assignmentText(m.assignment)]))),
        formatSection('Offsets', view.partitions.length === 0
          ? '(none committed)\n'
          : formatTable(
            ['topic', 'partition', 'current-offset', 'log-end-offset', 'lag', 'member-id', 'client-id', 'host'],
            view.partitions.map((p) => [p.topic, p.partition, p.currentOffset, p.logEndOffset, p.lag, p.memberId, p.clientId, p.host])
          ))
      ])
    }).join('\n'))
    return 0
  }
})
