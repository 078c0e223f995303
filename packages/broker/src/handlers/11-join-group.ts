/**
 * JoinGroup (key 11), versions 0-9: joins a classic group, waiting (up to the rebalance
 * timeout) until the join phase ends; the leader's response lists every member and its
 * subscription. The protocol logic is in group/classic-protocol.ts.
 *
 * Version notes: v0 has no rebalance timeout (the session timeout is used); v4+ makes a new
 * dynamic member rejoin with the id returned with MEMBER_ID_REQUIRED (KIP-394); v5 adds
 * GroupInstanceId (static membership, KIP-345); v6 is flexible; v7 returns ProtocolType and a
 * nullable ProtocolName; v8 adds Reason; v9 adds SkipAssignment (KIP-814).
 */
import { JoinGroupApi } from '@samsa/protocol'
import type { JoinGroupResponse } from '@samsa/protocol/messages/join-group'
import { clientHost, clientId } from './group-common.ts'
import { defineHandler } from './handler.ts'

export const joinGroupHandler = defineHandler(JoinGroupApi, [0, 9], async (ctx, req) => {
  const v = ctx.apiVersion
  const result = await ctx.broker.groupCoordinator.joinGroup({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: v >= 5 ? req.groupInstanceId : null,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: v >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
    reason: v >= 8 ? req.reason : null,
    clientId: clientId(ctx),
    clientHost: clientHost(ctx),
    requireKnownMemberId: v >= 4,
    supportSkippingAssignment: v >= 9
  })
  const response: JoinGroupResponse = {
    ...JoinGroupApi.response.create(),
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: v >= 7 ? result.protocolType : null,
    protocolName: v >= 7 ? result.protocolName : result.protocolName ?? '',
    leader: result.leader,
    skipAssignment: v >= 9 && result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: v >= 5 ? m.groupInstanceId : null, metadata: m.metadata }))
  }
  return response
})
