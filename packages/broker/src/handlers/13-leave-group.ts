/**
 * LeaveGroup (key 13), versions 0-5: removes members from a classic group, which then
 * rebalances without them.
 *
 * Version notes: v0-2 name one member (MemberId) and report its error at the top level; v3+
 * remove a batch of members, by member id or by group instance id alone (administrative
 * removal of static members), with an error per member; v4 is flexible; v5 adds Reason.
 */
import { LeaveGroupApi } from '@samsa/protocol'
import type { LeaveGroupResponse } from '@samsa/protocol/messages/leave-group'
import { defineHandler } from './handler.ts'

export const leaveGroupHandler = defineHandler(LeaveGroupApi, [0, 5], (ctx, req) => {
  const v = ctx.apiVersion
  const members = v >= 3
    ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: v >= 5 ? m.reason : null }))
    : [{ memberId: req.memberId, groupInstanceId: null, reason: null }]
  const result = ctx.broker.groupCoordinator.leaveGroup({ groupId: req.groupId, members })
  const response: LeaveGroupResponse = { ...LeaveGroupApi.response.create(), errorCode: result.errorCode }
  if (v >= 3) {
    response.members = result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: m.errorCode }))
  } else if (result.errorCode === 0 && result.members[0] !== undefined) {
    response.errorCode = result.members[0].errorCode
  }
  return response
})
