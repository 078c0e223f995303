/**
 * DeleteGroups (key 42), versions 0-2: deletes empty groups with their committed offsets
 * (tombstones in `__consumer_offsets`). A group with members is NON_EMPTY_GROUP, an unknown one
 * GROUP_ID_NOT_FOUND.
 *
 * Version notes: v1 no change; v2 is flexible.
 */
import { DeleteGroupsApi } from '@samsa/protocol'
import type { DeleteGroupsResponse } from '@samsa/protocol/messages/delete-groups'
import { defineHandler } from './handler.ts'

export const deleteGroupsHandler = defineHandler(DeleteGroupsApi, [0, 2], async (ctx, req) => {
  const results = await ctx.broker.groupCoordinator.deleteGroups(req.groupsNames)
  const response: DeleteGroupsResponse = { ...DeleteGroupsApi.response.create(), results }
  return response
})
