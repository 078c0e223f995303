/**
 * EndTxn (key 26), versions 0-4.
 *
 * Commits or aborts the producer's transaction at its coordinator (this broker):
 * PrepareCommit/PrepareAbort is written to `__transaction_state` and answered; the COMMIT/ABORT
 * markers then go to every partition of the transaction and CompleteCommit/CompleteAbort is
 * written (transaction-coordinator.ts). On a single node the markers are in the partitions before
 * the answer is sent. Errors: INVALID_PRODUCER_ID_MAPPING (unknown id or another producer id),
 * PRODUCER_FENCED (another epoch; INVALID_PRODUCER_EPOCH before v2), INVALID_TXN_STATE (no
 * transaction open, or the opposite of what is being completed), CONCURRENT_TRANSACTIONS (the same
 * result is still completing); a retry of a completed commit or abort is answered NONE.
 *
 * v3 is flexible; v4 allows TRANSACTION_ABORTABLE (never answered here). v5 (KIP-890 part 2,
 * epoch bump per transaction) is unstable in the spec snapshot and not served.
 */
import { ErrorCode, EndTxnApi } from '@samsa/protocol'
import { defineHandler } from './handler.ts'

export const endTxnHandler = defineHandler(EndTxnApi, [0, 4], async (ctx, req) => {
  let code = await ctx.broker.transactionCoordinator.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed)
  if (ctx.apiVersion < 2 && code === ErrorCode.PRODUCER_FENCED) code = ErrorCode.INVALID_PRODUCER_EPOCH
  return { ...EndTxnApi.response.create(), errorCode: code }
})
