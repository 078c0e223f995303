/**
 * ConsumerGroupHeartbeat (key 68), versions 0-1: the KIP-848 consumer group protocol. Members
 * join (epoch 0), heartbeat with their epoch and owned partitions, and leave (epoch -1; -2 for a
 * static member that will return); the coordinator computes assignments on the server
 * (`uniform`, `range`) and hands them out incrementally. Logic: group/consumer-protocol.ts.
 *
 * Version notes: v0 lets the coordinator generate the member id on join; v1 (KIP-1082, marked
 * unstable in Kafka's spec but used by @platformatic/kafka) requires a client-generated member
 * id and adds SubscribedTopicRegex (RE2 syntax; INVALID_REGULAR_EXPRESSION when it does not
 * compile).
 */
import { ConsumerGroupHeartbeatApi } from '@samsa/protocol'
import type { ConsumerGroupHeartbeatResponse } from '@samsa/protocol/messages/consumer-group-heartbeat'
import { clientHost, clientId } from './group-common.ts'
import { defineHandler } from './handler.ts'

export const consumerGroupHeartbeatHandler = defineHandler(ConsumerGroupHeartbeatApi, [0, 1], async (ctx, req) => {
  const result = await ctx.broker.groupCoordinator.consumerGroupHeartbeat({
    groupId: req.groupId,
    memberId: req.memberId,
    memberEpoch: req.memberEpoch,
    instanceId: req.instanceId,
    rackId: req.rackId,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    subscribedTopicNames: req.subscribedTopicNames,
    subscribedTopicRegex: ctx.apiVersion >= 1 ? req.subscribedTopicRegex : null,
    serverAssignor: req.serverAssignor,
    topicPartitions: req.topicPartitions,
    clientId: clientId(ctx),
    clientHost: clientHost(ctx),
    apiVersion: ctx.apiVersion
  })
  const response: ConsumerGroupHeartbeatResponse = {
    ...ConsumerGroupHeartbeatApi.response.create(),
    errorCode: result.errorCode,
    errorMessage: result.errorMessage,
    memberId: result.memberId,
    memberEpoch: result.memberEpoch,
    heartbeatIntervalMs: result.heartbeatIntervalMs,
    assignment: result.assignment === null ? null : { topicPartitions: result.assignment }
  }
  return response
})
