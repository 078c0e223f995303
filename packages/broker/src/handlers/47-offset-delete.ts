/**
 * OffsetDelete (key 47), version 0: deletes committed offsets of a group. The group must exist
 * (GROUP_ID_NOT_FOUND) and, for a classic group that is not using the "consumer" protocol, be
 * empty (NON_EMPTY_GROUP); offsets of a topic the group is subscribed to are kept
 * (GROUP_SUBSCRIBED_TO_TOPIC), unknown topics are UNKNOWN_TOPIC_OR_PARTITION.
 */
import { OffsetDeleteApi } from '@samsa/protocol'
import type { OffsetDeleteResponse } from '@samsa/protocol/messages/offset-delete'
import { defineHandler } from './handler.ts'

export const offsetDeleteHandler = defineHandler(OffsetDeleteApi, [0, 0], async (ctx, req) => {
  const result = await ctx.broker.groupCoordinator.deleteOffsets(req.groupId, req.topics.map((t) => ({
    name: t.name, partitions: t.partitions.map((p) => p.partitionIndex)
  })))
  const response: OffsetDeleteResponse = { ...OffsetDeleteApi.response.create(), errorCode: result.errorCode, topics: result.topics }
  return response
})
