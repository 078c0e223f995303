/**
 * The admin operations on partition state: ElectLeaders (preferred and unclean) and partition
 * reassignment (AlterPartitionReassignments / ListPartitionReassignments, KIP-455).
 *
 * Any broker can serve them: each change is a compare-and-swap on the partition epoch in the
 * metadata store, so it is safe against the controller and partition leaders writing at the same
 * time (a lost swap is retried from the newer state, a few times). What the change starts is
 * then carried on by the others: the new leader and followers take their roles from the event,
 * and the controller completes a reassignment once its target replicas are in sync (the new
 * replicas fetch from the leader and the leader adds them to the ISR).
 */
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { ClusterImage } from '../metadata/cluster-image.ts'
import type { MetadataStore, PartitionState } from '../metadata/metadata-store.ts'
import type { TopicRegistry } from '../topics/topic-registry.ts'
import { type ElectionOutcome, preferredElection, reassign, uncleanElection } from './partition-election.ts'

/** ElectLeaders electionType values (Kafka's ElectionType). */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const

export interface PartitionResult {
  errorCode: number
  errorMessage: string | null
}

export interface OngoingReassignment {
  topic: string
  partition: number
  replicas: number[]
  addingReplicas: number[]
  removingReplicas: number[]
}

export interface PartitionAdminOptions {
  store: MetadataStore
  image: ClusterImage
  topics: TopicRegistry
  /** How many times a lost compare-and-swap is retried (default 5). */
  casRetries?: number
}

function ok (): PartitionResult {
  return { errorCode: ErrorCode.NONE, errorMessage: null }
}

function fail (errorCode: number, errorMessage: string | null): PartitionResult {
  return { errorCode, errorMessage }
}

async function tick (): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20))
}

export class PartitionAdmin {
  readonly #options: PartitionAdminOptions

  constructor (options: PartitionAdminOptions) {
    this.#options = options
  }

  /**
   * Elects leaders for the named partitions, or for all of them (`partitions` null: then
   * partitions that need no election are left out of the result, as Kafka does).
   */
  async electLeaders (electionType: number, partitions: Array<{ topic: string, partition: number }> | null): Promise<Array<{ topic: string, partition: number, result: PartitionResult }>> {
    if (electionType !== ElectionType.PREFERRED && electionType !== ElectionType.UNCLEAN) {
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Unknown election type ${electionType}`)
    }
    const all = partitions === null
    const targets = partitions ?? this.#options.topics.list().flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.index })))
    const out: Array<{ topic: string, partition: number, result: PartitionResult }> = []
    for (const { topic, partition } of targets) {
      const result = await this.#change(topic, partition, (state) => this.#elect(electionType, state))
      if (all && result.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue
      out.push({ topic, partition, result })
    }
    return out
  }

  #elect (electionType: number, state: PartitionState): PartitionState | PartitionResult {
    const outcome: ElectionOutcome = electionType === ElectionType.PREFERRED
      ? preferredElection(state, this.#options.image)
      : uncleanElection(state, this.#options.image)
    if (outcome.kind === 'elected') return outcome.state
    if (outcome.kind === 'not-needed') return fail(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.')
    return electionType === ElectionType.PREFERRED
      ? fail(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `Failed to elect leader: the preferred replica is not in sync or not available.`)
      : fail(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, 'Failed to elect leader: no live replica can lead.')
  }

  /** Starts (replicas given) or cancels (null) a reassignment of one partition. */
  async alterReassignment (topic: string, partition: number, replicas: number[] | null): Promise<PartitionResult> {
    if (replicas !== null) {
      const error = this.#checkTarget(replicas)
      if (error !== undefined) return error
    }
    return await this.#change(topic, partition, (state) => {
      if (replicas === null && state.addingReplicas.length === 0 && state.removingReplicas.length === 0) {
        return fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `No reassignment is in progress for topic ${topic} partition ${partition}`)
      }
      return reassign(state, replicas) ?? ok()
    })
  }

  #checkTarget (replicas: number[]): PartitionResult | undefined {
    if (replicas.length === 0) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.')
    if (new Set(replicas).size !== replicas.length) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${replicas.find((r, i) => replicas.indexOf(r) !== i)} more than once.`)
    }
    const unknown = replicas.find((r) => !this.#options.image.isLive(r))
    if (unknown !== undefined) {
      return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${unknown}, but no such broker is registered.`)
    }
    return undefined
  }

  /** Reassignments in progress, of the named partitions or of all (unknown topics are left out). */
  listReassignments (topics: Array<{ name: string, partitions: number[] }> | null): OngoingReassignment[] {
    const registry = this.#options.topics
    const wanted = topics ?? registry.list().map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.index) }))
    const out: OngoingReassignment[] = []
    for (const t of wanted) {
      const topic = registry.get(t.name)
      if (topic === undefined) continue
      for (const index of t.partitions) {
        const p = topic.partitions[index]
        if (p === undefined || (p.addingReplicas.length === 0 && p.removingReplicas.length === 0)) continue
        out.push({ topic: t.name, partition: index, replicas: [...p.replicas], addingReplicas: [...p.addingReplicas], removingReplicas: [...p.removingReplicas] })
      }
    }
    return out
  }

  /**
   * Applies `decide` to the partition's current state and swaps in what it returns (a state),
   * or answers what it returns (a result) without writing.
   */
  async #change (topic: string, partition: number, decide: (state: PartitionState) => PartitionState | PartitionResult): Promise<PartitionResult> {
    const retries = this.#options.casRetries ?? 5
    for (let attempt = 0; ; attempt++) {
      const p = this.#options.topics.anyPartition(topic, partition)
      if (p === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.')
      const current = p.state
      const next = decide(current)
      if ('errorCode' in next) return next
      let written: boolean
      try {
        written = await this.#options.store.alterPartition(topic, partition, current.partitionEpoch, next)
      } catch (error) {
        // The store cannot be reached (etcd down): the client may retry.
        return fail(ErrorCode.REQUEST_TIMED_OUT, `The cluster metadata store is unavailable: ${(error as Error).message}`)
      }
      if (written) return ok()
      // Someone else changed it first: decide again on the newer state once it has arrived.
      if (attempt >= retries) return fail(ErrorCode.REQUEST_TIMED_OUT, 'The partition state kept changing; try again.')
      await tick()
    }
  }
}
