/**
 * FindCoordinator (key 10), versions 0-6.
 *
 * A group is coordinated by the leader of its `__consumer_offsets` partition, a transactional id
 * by the leader of its `__transaction_state` partition (on a single node: this broker, which
 * leads every partition); the answer is that broker's endpoint on the listener the client used,
 * or COORDINATOR_NOT_AVAILABLE while the partition has no leader. For group keys the offsets
 * topic, and for transactional ids `__transaction_state`, is created first if it does not exist
 * yet, so the coordinator can serve at once (Kafka creates them asynchronously and answers
 * COORDINATOR_NOT_AVAILABLE meanwhile).
 *
 * Version notes: v1 adds KeyType (0 group, 1 transaction; others are INVALID_REQUEST) and the
 * error message; v3 is flexible; v4 batches keys (CoordinatorKeys, one result each); v6 would
 * add share-group keys (type 2), which are not supported.
 */
import { ErrorCode, FindCoordinatorApi } from '@samsa/protocol'
import type { Coordinator, FindCoordinatorResponse } from '@samsa/protocol/messages/find-coordinator'
import { CoordinatorType, OFFSETS_TOPIC } from '../group/group-coordinator.ts'
import { partitionForGroup } from '../group/group-hash.ts'
import { TRANSACTION_STATE_TOPIC } from '../txn/transaction-coordinator.ts'
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
  const topic = keyType === CoordinatorType.GROUP ? OFFSETS_TOPIC : TRANSACTION_STATE_TOPIC
  const partitions = ctx.broker.topics.get(topic)?.partitions.length ?? 0
  const leader = partitions === 0 ? -1 : ctx.broker.topics.anyPartition(topic, partitionForGroup(key, partitions))?.leaderId ?? -1
  const endpoint = leader < 0 ? undefined : ctx.broker.endpointFor(leader, ctx.connection)
  if (endpoint === undefined) return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null }
  return { key, nodeId: leader, host: endpoint.host, port: endpoint.port, errorCode: ErrorCode.NONE, errorMessage: null }
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
