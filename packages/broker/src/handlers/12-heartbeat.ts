/**
 * Heartbeat (key 12), versions 0-4: keeps a classic group member's session alive and tells it
 * when to rejoin (REBALANCE_IN_PROGRESS), or that it is gone (UNKNOWN_MEMBER_ID,
 * ILLEGAL_GENERATION, FENCED_INSTANCE_ID).
 *
 * Version notes: v1 adds throttle time; v2 no change; v3 adds GroupInstanceId; v4 is flexible.
 */
import { HeartbeatApi } from '@samsa/protocol'
import { defineHandler } from './handler.ts'

export const heartbeatHandler = defineHandler(HeartbeatApi, [0, 4], (ctx, req) => {
  const errorCode = ctx.broker.groupCoordinator.heartbeat({
    groupId: req.groupId,
    generationId: req.generationId,
    memberId: req.memberId,
    groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null
  })
  return { ...HeartbeatApi.response.create(), errorCode }
})
