/**
 * What the protocol drivers (classic-protocol.ts, consumer-protocol.ts) need from the
 * coordinator: the clock, timers, settings, group lookup and the write path to
 * `__consumer_offsets`.
 */
import type { Logger } from '../logger.ts'
import type { TopicRegistry } from '../topics/topic-registry.ts'
import type { ClassicGroup } from './classic-group.ts'
import type { ConsumerGroup } from './consumer-group.ts'
import type { GroupCoordinatorConfig } from './group-config.ts'
import type { CoordinatorRecord } from './records.ts'
import type { KeyedTimers } from './scheduler.ts'

export type Group = ClassicGroup | ConsumerGroup

export interface CoordinatorRuntime {
  readonly config: GroupCoordinatorConfig
  readonly logger: Logger
  readonly timers: KeyedTimers
  readonly topics: TopicRegistry
  now (): number
  group (groupId: string): Group | undefined
  /**
   * The classic group, created when `create` is set and it does not exist. An empty consumer
   * group is converted; a non-empty one throws KafkaProtocolError (`conflictCode`).
   */
  classicGroup (groupId: string, create: boolean, conflictCode: number): ClassicGroup | undefined
  /**
   * The consumer (KIP-848) group. With `create`, a missing group (or an empty classic one, which
   * is converted) comes back as a new object that is not registered yet: the caller writes its
   * records (`records` first, e.g. the classic group's tombstone) and then calls `putGroup`.
   * A classic group with members throws KafkaProtocolError GROUP_ID_NOT_FOUND.
   */
  consumerGroup (groupId: string, create: boolean): { group: ConsumerGroup, created: boolean, records: CoordinatorRecord[] } | undefined
  putGroup (group: Group): void
  /**
   * Appends records to the group's `__consumer_offsets` partition, synchronously (the caller
   * applies the change right after, in log order). Returns a promise when the records must also
   * be flushed before the client is answered. Throws KafkaProtocolError when they cannot be written.
   */
  append (groupId: string, records: CoordinatorRecord[]): Promise<void> | undefined
}

/** Runs `fn` once `flushed` (if any) settles; errors of the flush were already logged by storage. */
export function afterFlush (flushed: Promise<void> | undefined, fn: () => void): void {
  if (flushed === undefined) fn()
  else flushed.then(fn, fn)
}
