/**
 * SyncGroup (key 14), versions 0-5: the leader hands in the assignment of every member; each
 * member waits for its own. The assignment is written to `__consumer_offsets` before anyone is
 * answered. Protocol logic: group/classic-protocol.ts.
 *
 * Version notes: v1 adds throttle time; v3 adds GroupInstanceId; v4 is flexible; v5 adds
 * ProtocolType and ProtocolName to both request (checked: INCONSISTENT_GROUP_PROTOCOL) and
 * response.
 */
import { SyncGroupApi } from '@samsa/protocol'
import type { SyncGroupResponse } from '@samsa/protocol/messages/sync-group'
import { defineHandler } from './handler.ts'

export const syncGroupHandler = defineHandler(SyncGroupApi, [0, 5], async (ctx, req) => {
  const v = ctx.apiVersion
  const result = await ctx.broker.groupCoordinator.syncGroup({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: v >= 3 ? req.groupInstanceId : null,
    protocolType: v >= 5 ? req.protocolType : null,
    protocolName: v >= 5 ? req.protocolName : null,
    assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment }))
  })
  const response: SyncGroupResponse = {
    ...SyncGroupApi.response.create(),
    errorCode: result.errorCode,
    protocolType: v >= 5 ? result.protocolType : null,
    protocolName: v >= 5 ? result.protocolName : null,
    assignment: result.assignment
  }
  return response
})
