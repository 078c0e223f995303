/** What group commands share: a group's description with its offsets, end offsets and lag. */
import type { Admin, GroupDescription, GroupOffset } from '@samsa/client'
import { CliError } from '../../shared/errors.ts'
import { settle } from '../../shared/settle.ts'

export interface GroupPartitionView {
  topic: string
  partition: number
  /** The committed offset, null if none. */
  currentOffset: bigint | null
  logEndOffset: bigint | null
  /** logEndOffset - currentOffset, null when either is unknown. */
  lag: bigint | null
  memberId: string | null
  clientId: string | null
  host: string | null
}

export interface GroupView {
  description: GroupDescription
  offsets: GroupOffset[]
  partitions: GroupPartitionView[]
  totalLag: bigint
}

/** States in which a group has no active members, so offsets may be changed from outside. */
const INACTIVE_STATES = new Set(['Empty', 'Dead'])

export function isActive (description: GroupDescription): boolean {
  return description.members.length > 0 || !INACTIVE_STATES.has(description.groupState)
}

/** True for the description Kafka gives of a group that does not exist. */
export function isMissing (description: GroupDescription, offsets: readonly GroupOffset[]): boolean {
  return description.groupState === 'Dead' && description.members.length === 0 && offsets.length === 0
}

function byPartition (a: { topic: string, partition: number }, b: { topic: string, partition: number }): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
}

/** Describes a group with its committed offsets, the log end offsets and the lag per partition. */
export async function describeGroupView (admin: Admin, groupId: string): Promise<GroupView> {
  const [description] = await admin.describeGroups([groupId])
  if (description === undefined) throw new CliError(`group '${groupId}' was not described`)
  const offsets = (await admin.listConsumerGroupOffsets(groupId)).filter((o) => o.offset >= 0n)
  if (isMissing(description, offsets)) throw new CliError(`group '${groupId}' does not exist`)
  const owners = new Map<string, { memberId: string, clientId: string, host: string }>()
  for (const m of description.members) {
    for (const a of m.assignment) for (const p of a.partitions) owners.set(`${a.topic}/${p}`, { memberId: m.memberId, clientId: m.clientId, host: m.clientHost })
  }
  const keys = new Map<string, { topic: string, partition: number }>()
  for (const o of offsets) keys.set(`${o.topic}/${o.partition}`, { topic: o.topic, partition: o.partition })
  for (const m of description.members) for (const a of m.assignment) for (const p of a.partitions) keys.set(`${a.topic}/${p}`, { topic: a.topic, partition: p })
  const list = [...keys.values()].sort(byPartition)
  const ends = list.length === 0
    ? { result: [], errors: new Map<string, string>() }
    : await settle(async () => await admin.listOffsets(list.map((p) => ({ ...p, timestamp: 'latest' as const })), { isolationLevel: 'read_uncommitted' }))
  const end = new Map((ends.result ?? []).map((o) => [`${o.topic}/${o.partition}`, o.offset]))
  const committed = new Map(offsets.map((o) => [`${o.topic}/${o.partition}`, o.offset]))
  let totalLag = 0n
  const partitions = list.map((p): GroupPartitionView => {
    const key = `${p.topic}/${p.partition}`
    const currentOffset = committed.get(key) ?? null
    const logEndOffset = end.get(key) ?? null
    const lag = currentOffset === null || logEndOffset === null ? null : (logEndOffset > currentOffset ? logEndOffset - currentOffset : 0n)
    if (lag !== null) totalLag += lag
    const owner = owners.get(key)
    return { ...p, currentOffset, logEndOffset, lag, memberId: owner?.memberId ?? null, clientId: owner?.clientId ?? null, host: owner?.host ?? null }
  })
  return { description, offsets, partitions, totalLag }
}
