/**
 * AlterPartitionReassignments (key 45), version 0 (KIP-455): starts moving partitions to new
 * replica lists, or cancels moves in progress (replicas null). A move adds the new replicas at
 * once (they start copying from the leader) and finishes when all target replicas are in sync:
 * the controller then drops the removed ones, and a leader outside the target hands over.
 * Per-partition errors: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT (empty list,
 * duplicate or unregistered broker), NO_REASSIGNMENT_IN_PROGRESS (cancelling nothing).
 */
import { AlterPartitionReassignmentsApi, ErrorCode } from '@samsa/protocol'
import type { AlterPartitionReassignmentsResponse } from '@samsa/protocol/messages/alter-partition-reassignments'
import { defineHandler } from './handler.ts'

export const alterPartitionReassignmentsHandler = defineHandler(AlterPartitionReassignmentsApi, [0, 0], async (ctx, req) => {
  const response: AlterPartitionReassignmentsResponse = {
    ...AlterPartitionReassignmentsApi.response.create(), errorCode: ErrorCode.NONE, errorMessage: null, responses: []
  }
  for (const t of req.topics) {
    const partitions = []
    for (const p of t.partitions) {
      const result = await ctx.broker.partitionAdmin.alterReassignment(t.name, p.partitionIndex, p.replicas === null ? null : [...p.replicas])
      partitions.push({ partitionIndex: p.partitionIndex, errorCode: result.errorCode, errorMessage: result.errorMessage })
    }
    response.responses.push({ name: t.name, partitions })
  }
  return response
})
