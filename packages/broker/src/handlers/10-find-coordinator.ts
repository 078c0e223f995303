/**
 * FindCoordinator (key 10), versions 0-6.
 *
 * Every group and transactional id is coordinated by this broker (a single node owns every
 * `__consumer_offsets` and `__transaction_state` partition). For group keys the offsets topic, and
 * for transactional ids `__transaction_state`, is created first if it does not exist yet, so the
 * coordinator can serve at once (Kafka creates them asynchronously and answers
 * COORDINATOR_NOT_AVAILABLE meanwhile).
 *
 * Version notes: v1 adds KeyType (0 group, 1 transaction; others are INVALID_REQUEST) and the
 * error message; v3 is flexible; v4 batches keys (CoordinatorKeys, one result each); v6 would
 * add share-group keys (type 2), which are not supported.
 */
import { ErrorCode, FindCoordinatorApi } from '@samsa/protocol'
import type { Coordinator, FindCoordinatorResponse } from '@samsa/protocol/messages/find-coordinator'
import { CoordinatorType } from '../group/group-coordinator.ts'
import { type RequestContext, defineHandler } from './handler.ts'

async function lookup (ctx: RequestContext, key: string, keyType: number): Promise<Coordinator> {
  const none = { key, nodeId: -1, host: '', port: -1 }
  if (keyType !== CoordinatorType.GROUP && keyType !== CoordinatorType.TRANSACTION) {
    return { ...none, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Invalid coordinator type ${keyType}` }
  }
  if (keyType === CoordinatorType.GROUP) {
    try {
      await ctx.broker.groupCoordinator.ensureOffsetsTopic()
    } catch (error) {
      ctx.broker.logger.warn('Could not create __consumer_offsets', { error })
      return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null }
    }
  } else {
    try {
      await ctx.broker.transactionCoordinator.ensureTransactionStateTopic()
    } catch (error) {
      ctx.broker.logger.warn('Could not create __transaction_state', { error })
      return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null }
    }
  }
  const endpoint = ctx.broker.endpointFor(ctx.broker.nodeId, ctx.connection)
  if (endpoint === undefined) return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null }
  return { key, nodeId: ctx.broker.nodeId, host: endpoint.host, port: endpoint.port, errorCode: ErrorCode.NONE, errorMessage: null }
}

export const findCoordinatorHandler = defineHandler(FindCoordinatorApi, [0, 6], async (ctx, req) => {
  const v = ctx.apiVersion
  const response: FindCoordinatorResponse = FindCoordinatorApi.response.create()
  if (v >= 4) {
    response.coordinators = await Promise.all(req.coordinatorKeys.map(async (key) => await lookup(ctx, key, req.keyType)))
    return response
  }
  const c = await lookup(ctx, req.key, v >= 1 ? req.keyType : CoordinatorType.GROUP)
  response.errorCode = c.errorCode
  response.errorMessage = c.errorCode === ErrorCode.NONE ? null : c.errorMessage
  response.nodeId = c.nodeId
  response.host = c.host
  response.port = c.port
  return response
})
