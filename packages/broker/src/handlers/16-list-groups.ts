/**
 * ListGroups (key 16), versions 0-5: every group this coordinator holds, with its protocol
 * type. COORDINATOR_LOAD_IN_PROGRESS while `__consumer_offsets` is still loading.
 *
 * Version notes: v1 adds throttle time; v3 is flexible; v4 adds StatesFilter and each group's
 * state; v5 adds TypesFilter ("classic", "consumer") and each group's type. Filters match
 * case-insensitively; empty filters match every group.
 */
import { ListGroupsApi } from '@samsa/protocol'
import type { ListGroupsResponse } from '@samsa/protocol/messages/list-groups'
import { defineHandler } from './handler.ts'

export const listGroupsHandler = defineHandler(ListGroupsApi, [0, 5], (ctx, req) => {
  const v = ctx.apiVersion
  const result = ctx.broker.groupCoordinator.listGroups(v >= 4 ? req.statesFilter : [], v >= 5 ? req.typesFilter : [])
  const response: ListGroupsResponse = {
    ...ListGroupsApi.response.create(),
    errorCode: result.errorCode,
    groups: result.groups.map((g) => ({
      groupId: g.groupId,
      protocolType: g.protocolType,
      groupState: v >= 4 ? g.groupState : '',
      groupType: v >= 5 ? g.groupType : ''
    }))
  }
  return response
})
