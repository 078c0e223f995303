/**
 * ListPartitionReassignments (key 46), version 0 (KIP-455): the reassignments in progress, for
 * the named partitions or (topics null) every partition: current replicas, and the replicas
 * being added and removed. Unknown topics and partitions without a move are left out.
 */
import { ErrorCode, ListPartitionReassignmentsApi } from '@samsa/protocol'
import type { ListPartitionReassignmentsResponse, OngoingTopicReassignment } from '@samsa/protocol/messages/list-partition-reassignments'
import { defineHandler } from './handler.ts'

export const listPartitionReassignmentsHandler = defineHandler(ListPartitionReassignmentsApi, [0, 0], (ctx, req) => {
  const response: ListPartitionReassignmentsResponse = {
    ...ListPartitionReassignmentsApi.response.create(), errorCode: ErrorCode.NONE, errorMessage: null, topics: []
  }
  const wanted = req.topics === null ? null : req.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes }))
  const byTopic = new Map<string, OngoingTopicReassignment>()
  for (const r of ctx.broker.partitionAdmin.listReassignments(wanted)) {
    let topic = byTopic.get(r.topic)
    if (topic === undefined) {
      topic = { name: r.topic, partitions: [] }
      byTopic.set(r.topic, topic)
      response.topics.push(topic)
    }
    topic.partitions.push({ partitionIndex: r.partition, replicas: r.replicas, addingReplicas: r.addingReplicas, removingReplicas: r.removingReplicas })
  }
  return response
})
