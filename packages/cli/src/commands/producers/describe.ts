/** `samsa producers describe`: the active idempotent and transactional producers of a topic's partitions. */
import { defineCommand, parseInteger } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { formatTable, formatTime, printJson } from '../../shared/output.ts'

export const producersDescribe = defineCommand({
  name: 'producers describe',
  summary: 'Describe the active producers of a topic\'s partitions',
  synopsis: '<topic> [--partition <n>]... [options]',
  description: `
Lists, for each partition of a topic, the producers the partition leader keeps state for
(idempotent and transactional producers within producer.id.expiration.ms): producer id and
epoch, the last sequence number and timestamp written, the coordinator epoch, and the first
offset of the producer's open transaction on the partition (- when none is open).`,
  options: {
    partition: { type: 'string', short: 'p', value: '<n>', multiple: true, description: 'Only this partition (default: all)' }
  },
  args: { min: 1, max: 1, name: 'topic name' },
  examples: [
    'samsa producers describe payments',
    'samsa producers describe payments --partition 0 --format json'
  ],
  async run ({ options, args, bootstrap, format, io }) {
    const topic = args[0]!
    const wanted = (options.partition ?? []).map((p) => parseInteger(p, '--partition', { min: 0 }))
    const partitions = await withAdmin(bootstrap, async (admin) => {
      const [described] = await admin.describeTopics([topic])
      const all = described!.partitions.map((p) => p.partition)
      const list = wanted.length === 0 ? all : wanted
      return (await admin.describeProducers(list.map((partition) => ({ topic, partition })))).sort((a, b) => a.partition - b.partition)
    })
    if (format === 'json') {
      printJson(io, partitions)
      return 0
    }
    const rows = partitions.flatMap((p) => p.activeProducers.map((s) => [
      p.partition, s.producerId, s.producerEpoch, s.lastSequence, formatTime(s.lastTimestamp), s.coordinatorEpoch, s.currentTxnStartOffset < 0n ? null : s.currentTxnStartOffset
    ]))
    io.stdout(formatTable(['partition', 'producer-id', 'epoch', 'last-sequence', 'last-timestamp', 'coordinator-epoch', 'txn-start-offset'], rows))
    return 0
  }
})
