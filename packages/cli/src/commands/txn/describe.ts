/** `samsa txn describe`: a transactional id's state, producer, timeout and partitions. */
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { formatPairs, formatSection, formatTable, formatTime, joinSections, printJson } from '../../shared/output.ts'

export const txnDescribe = defineCommand({
  name: 'txn describe',
  summary: 'Describe transactions',
  synopsis: '<transactional-id>... [options]',
  description: `
Describes transactional ids at their transaction coordinators: the state, the producer id
and epoch, the transaction timeout, when the running transaction started and the partitions
it has written to (empty when no transaction is running).`,
  options: {},
  args: { min: 1, max: Infinity, name: 'transactional id' },
  examples: [
    'samsa txn describe payments-processor-1',
    'samsa txn describe payments-processor-1 --format json'
  ],
  async run ({ args, bootstrap, format, io }) {
    const txns = await withAdmin(bootstrap, async (admin) => await admin.describeTransactions(args))
    const now = Date.now()
    const views = txns.map((t) => ({
      ...t,
      durationMs: t.transactionStartTimeMs >= 0 ? Math.max(0, now - t.transactionStartTimeMs) : null,
      partitions: [...t.partitions].sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
    }))
    if (format === 'json') {
      printJson(io, args.length === 1 ? views[0] : views)
      return 0
    }
    io.stdout(views.map((t) => joinSections([
      formatPairs([
        ['TRANSACTIONAL-ID', t.transactionalId],
        ['COORDINATOR', t.coordinatorId],
        ['STATE', t.transactionState],
        ['PRODUCER-ID', t.producerId],
        ['PRODUCER-EPOCH', t.producerEpoch],
        ['TIMEOUT-MS', t.transactionTimeoutMs],
        ['START-TIME', formatTime(t.transactionStartTimeMs)],
        ['DURATION-MS', t.durationMs]
      ]),
      formatSection('Partitions', t.partitions.length === 0 ? '(none)\n' : formatTable(['topic', 'partition'], t.partitions.map((p) => [p.topic, p.partition])))
    ])).join('\n'))
    return 0
  }
})
