/** `samsa txn list`: transactional ids known to the transaction coordinators. */
import { defineCommand, parseInteger } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { formatTable, printJson } from '../../shared/output.ts'

export const txnList = defineCommand({
  name: 'txn list',
  summary: 'List transactional ids and their states',
  synopsis: '[options]',
  description: `
Lists the transactional ids every transaction coordinator knows, with the coordinator, the
transaction state (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,
CompleteAbort, PrepareEpochFence, Dead) and the producer id.`,
  options: {
    state: { type: 'string', value: '<state>', multiple: true, description: 'Only transactions in this state (Ongoing...)' },
    'producer-id': { type: 'string', value: '<id>', multiple: true, description: 'Only this producer id' },
    'min-duration-ms': { type: 'string', value: '<ms>', description: 'Only transactions running at least this long' }
  },
  args: { min: 0, max: 0, name: 'argument' },
  examples: [
    'samsa txn list',
    'samsa txn list --state Ongoing --min-duration-ms 60000',
    'samsa txn list --format json'
  ],
  async run ({ options, bootstrap, format, io }) {
    const producerIds = (options['producer-id'] ?? []).map((id) => parseInteger(id, '--producer-id', { min: 0 }))
    const durationMs = options['min-duration-ms'] === undefined ? undefined : parseInteger(options['min-duration-ms'], '--min-duration-ms', { min: 0 })
    const txns = await withAdmin(bootstrap, async (admin) => await admin.listTransactions({
      ...(options.state === undefined ? {} : { states: options.state }),
      ...(producerIds.length === 0 ? {} : { producerIds }),
      ...(durationMs === undefined ? {} : { durationMs })
    }))
    if (format === 'json') printJson(io, txns)
    else io.stdout(formatTable(['transactional-id', 'coordinator', 'state', 'producer-id'], txns.map((t) => [t.transactionalId, t.coordinatorId, t.transactionState, t.producerId])))
    return 0
  }
})
