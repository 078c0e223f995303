/**
 * ConsumerGroupDescribe (key 69), version 0: KIP-848 groups with their epochs, assignor and
 * members (subscriptions, current and target assignments). A missing group, or a classic one,
 * is GROUP_ID_NOT_FOUND.
 */
import { ConsumerGroupDescribeApi } from '@samsa/protocol'
import type { ConsumerGroupDescribeResponse } from '@samsa/protocol/messages/consumer-group-describe'
import { GROUP_AUTHORIZED_OPERATIONS, UNKNOWN_AUTHORIZED_OPERATIONS } from './authorized-operations.ts'
import { defineHandler } from './handler.ts'

export const consumerGroupDescribeHandler = defineHandler(ConsumerGroupDescribeApi, [0, 0], (ctx, req) => {
  const ops = req.includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : UNKNOWN_AUTHORIZED_OPERATIONS
  const response: ConsumerGroupDescribeResponse = {
    ...ConsumerGroupDescribeApi.response.create(),
    groups: ctx.broker.groupCoordinator.consumerGroupDescribe(req.groupIds).map((g) => ({
      errorCode: g.errorCode,
      errorMessage: g.errorMessage,
      groupId: g.groupId,
      groupState: g.groupState,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: g.assignorName,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.subscribedTopicNames,
        subscribedTopicRegex: m.subscribedTopicRegex,
        assignment: { topicPartitions: m.assignment },
        targetAssignment: { topicPartitions: m.targetAssignment }
      })),
      authorizedOperations: ops
    }))
  }
  return response
})
