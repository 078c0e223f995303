/**
 * ElectLeaders (key 43), versions 0-2 (KIP-183, KIP-460): moves leadership to the preferred
 * replica (electionType 0, the only kind in v0) or, when a partition has no live leader, to any
 * live replica even outside the ISR (electionType 1, unclean: may lose acknowledged records).
 * A null partition list means every partition; partitions that need no election are then left
 * out of the response. Per-partition errors: ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
 * ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION; an unknown election type is
 * INVALID_REQUEST for the whole request. The change is a compare-and-swap on the partition
 * state (cluster/partition-admin.ts), so any broker may serve it.
 */
import { ElectLeadersApi, KafkaProtocolError } from '@samsa/protocol'
import type { ElectLeadersResponse, ReplicaElectionResult } from '@samsa/protocol/messages/elect-leaders'
import { ElectionType } from '../cluster/partition-admin.ts'
import { defineHandler } from './handler.ts'

export const electLeadersHandler = defineHandler(ElectLeadersApi, [0, 2], async (ctx, req) => {
  const response: ElectLeadersResponse = { ...ElectLeadersApi.response.create(), replicaElectionResults: [] }
  const electionType = ctx.apiVersion === 0 ? ElectionType.PREFERRED : req.electionType
  const partitions = req.topicPartitions === null
    ? null
    : req.topicPartitions.flatMap((t) => [...new Set(t.partitions)].map((partition) => ({ topic: t.topic, partition })))
  let results
  try {
    results = await ctx.broker.partitionAdmin.electLeaders(electionType, partitions)
  } catch (error) {
    if (!(error instanceof KafkaProtocolError)) throw error
    response.errorCode = error.code
    // v0 has no top-level error: every requested partition carries it.
    if (ctx.apiVersion === 0) {
      results = (partitions ?? []).map((p) => ({ ...p, result: { errorCode: error.code, errorMessage: error.errorMessage } }))
    } else {
      return response
    }
  }
  const byTopic = new Map<string, ReplicaElectionResult>()
  for (const r of results) {
    let topic = byTopic.get(r.topic)
    if (topic === undefined) {
      topic = { topic: r.topic, partitionResult: [] }
      byTopic.set(r.topic, topic)
      response.replicaElectionResults.push(topic)
    }
    topic.partitionResult.push({ partitionId: r.partition, errorCode: r.result.errorCode, errorMessage: r.result.errorMessage })
  }
  return response
})
