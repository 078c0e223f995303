/**
 * DescribeTransactions (key 65), version 0.
 *
 * The state of each transactional id at its coordinator (this broker): state name (Empty,
 * Ongoing, PrepareCommit, ...), timeout, start time (-1 with no transaction running), producer
 * id and epoch, and the partitions of the open transaction (while it completes, those still
 * waiting for their marker). Unknown ids: TRANSACTIONAL_ID_NOT_FOUND; a partition of
 * `__transaction_state` still loading: COORDINATOR_LOAD_IN_PROGRESS.
 */
import { DescribeTransactionsApi } from '@samsa/protocol'
import type { DescribeTransactionsResponse } from '@samsa/protocol/messages/describe-transactions'
import { defineHandler } from './handler.ts'

export const describeTransactionsHandler = defineHandler(DescribeTransactionsApi, [0, 0], (ctx, req) => {
  const described = ctx.broker.transactionCoordinator.describeTransactions(req.transactionalIds)
  const response: DescribeTransactionsResponse = {
    ...DescribeTransactionsApi.response.create(),
    transactionStates: described.map((d) => ({
      errorCode: d.errorCode,
      transactionalId: d.transactionalId,
      transactionState: d.transactionState,
      transactionTimeoutMs: d.transactionTimeoutMs,
      transactionStartTimeMs: BigInt(d.transactionStartTimeMs),
      producerId: d.producerId,
      producerEpoch: d.producerEpoch,
      topics: d.topics
    }))
  }
  return response
})
