/**
 * KIP-951 leader hints: a Produce (v10+) or Fetch (v12+) refused with NOT_LEADER_OR_FOLLOWER or
 * FENCED_LEADER_EPOCH carries the partition's current leader and leader epoch, and the response
 * (Produce v10+, Fetch v16+) the endpoints of those leaders, so the client can go there at once
 * instead of first refreshing its metadata (Kafka's ReplicaManager does the same).
 */
import { ErrorCode } from '@samsa/protocol'
import type { RequestContext } from './handler.ts'

export interface LeaderHint {
  leaderId: number
  leaderEpoch: number
}

export interface HintEndpoint {
  nodeId: number
  host: string
  port: number
  rack: string | null
}

/** Whether an error code is one that gets a leader hint. */
export function wantsLeaderHint (errorCode: number): boolean {
  return errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || errorCode === ErrorCode.FENCED_LEADER_EPOCH
}

/** The partition's leader as this broker knows it, or undefined when it has none. */
export function leaderHint (ctx: RequestContext, topic: string, index: number): LeaderHint | undefined {
  const p = ctx.broker.topics.anyPartition(topic, index)
  if (p === undefined || p.leaderId < 0) return undefined
  return { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch }
}

/** The endpoints of `nodeIds` on the listener the client used (unknown ones are left out). */
export function hintEndpoints (ctx: RequestContext, nodeIds: Iterable<number>): HintEndpoint[] {
  const out: HintEndpoint[] = []
  const brokers = ctx.broker.brokers()
  for (const nodeId of new Set(nodeIds)) {
    const e = ctx.broker.endpointFor(nodeId, ctx.connection)
    if (e === undefined) continue
    out.push({ nodeId, host: e.host, port: e.port, rack: brokers.find((b) => b.nodeId === nodeId)?.rack ?? null })
  }
  return out.sort((a, b) => a.nodeId - b.nodeId)
}
