/**
 * DescribeGroups (key 15), versions 0-5: state, protocol type and name, and members of classic
 * groups (member metadata and assignment only while Stable). As in Kafka, an unknown group (or
 * a KIP-848 group: see ConsumerGroupDescribe) is described with state "Dead" and no error.
 *
 * Version notes: v1 adds throttle time; v3 IncludeAuthorizedOperations (no authorizer: every
 * group operation); v4 GroupInstanceId; v5 is flexible.
 */
import { DescribeGroupsApi } from '@samsa/protocol'
import type { DescribeGroupsResponse } from '@samsa/protocol/messages/describe-groups'
import { GROUP_AUTHORIZED_OPERATIONS, UNKNOWN_AUTHORIZED_OPERATIONS } from './authorized-operations.ts'
import { defineHandler } from './handler.ts'

export const describeGroupsHandler = defineHandler(DescribeGroupsApi, [0, 5], (ctx, req) => {
  const v = ctx.apiVersion
  const ops = v >= 3 && req.includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : UNKNOWN_AUTHORIZED_OPERATIONS
  const response: DescribeGroupsResponse = {
    ...DescribeGroupsApi.response.create(),
    groups: ctx.broker.groupCoordinator.describeGroups(req.groups).map((g) => ({
      errorCode: g.errorCode,
      groupId: g.groupId,
      groupState: g.groupState,
      protocolType: g.protocolType,
      protocolData: g.protocolData,
      members: g.members.map((m) => ({ ...m, groupInstanceId: v >= 4 ? m.groupInstanceId : null })),
      authorizedOperations: ops
    }))
  }
  return response
})
