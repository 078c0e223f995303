/**
 * ListTransactions (key 66), versions 0-1.
 *
 * The transactional ids this coordinator owns, filtered by state names (unknown names are
 * returned in UnknownStateFilters), by producer ids, and from v1 by DurationFilter: only
 * transactions running longer than that many milliseconds (-1: all). Dead ids (being removed) are
 * left out. COORDINATOR_LOAD_IN_PROGRESS while `__transaction_state` loads.
 */
import { ListTransactionsApi } from '@samsa/protocol'
import type { ListTransactionsResponse } from '@samsa/protocol/messages/list-transactions'
import { defineHandler } from './handler.ts'

export const listTransactionsHandler = defineHandler(ListTransactionsApi, [0, 1], (ctx, req) => {
  const duration = ctx.apiVersion >= 1 ? Number(req.durationFilter) : -1
  const listed = ctx.broker.transactionCoordinator.listTransactions(req.stateFilters, req.producerIdFilters, duration)
  const response: ListTransactionsResponse = {
    ...ListTransactionsApi.response.create(),
    errorCode: listed.errorCode,
    unknownStateFilters: listed.unknownStateFilters,
    transactionStates: listed.transactions
  }
  return response
})
