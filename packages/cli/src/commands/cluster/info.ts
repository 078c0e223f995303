/** `samsa cluster info`: the cluster id, controller, brokers and topic counts. */
import { defineCommand } from '../../shared/command.ts'
import { withAdmin } from '../../shared/connect.ts'
import { formatPairs, formatSection, formatTable, joinSections, printJson } from '../../shared/output.ts'

export const clusterInfo = defineCommand({
  name: 'cluster info',
  summary: 'Show the cluster id, controller, brokers and topic counts',
  synopsis: '[options]',
  description: `
Describes the cluster: its id, the controller, every broker with its advertised host:port
and rack, and how many topics and partitions it holds (internal ones counted apart).`,
  options: {},
  args: { min: 0, max: 0, name: 'argument' },
  examples: [
    'samsa cluster info',
    'samsa cluster info --bootstrap broker-1:9092 --format json'
  ],
  async run ({ bootstrap, format, io }) {
    const info = await withAdmin(bootstrap, async (admin) => {
      const cluster = await admin.describeCluster()
      const metadata = await admin.cluster.refreshMetadata({ topics: null })
      let topics = 0
      let partitions = 0
      let internalTopics = 0
      let internalPartitions = 0
      for (const t of metadata.topics.values()) {
        if (t.errorCode !== 0) continue
        if (t.isInternal) {
          internalTopics++
          internalPartitions += t.partitions.length
        } else {
          topics++
          partitions += t.partitions.length
        }
      }
      return {
        clusterId: cluster.clusterId,
        controllerId: cluster.controllerId,
        brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack, controller: b.nodeId === cluster.controllerId })),
        topics,
        partitions,
        internalTopics,
        internalPartitions
      }
    })
    if (format === 'json') {
      printJson(io, info)
      return 0
    }
    io.stdout(joinSections([
      formatSection('Cluster', formatPairs([
        ['CLUSTER-ID', info.clusterId],
        ['CONTROLLER', info.controllerId],
        ['TOPICS', `${info.topics} (${info.partitions} partitions)`],
        ['INTERNAL', `${info.internalTopics} (${info.internalPartitions} partitions)`]
      ])),
      formatSection('Brokers', formatTable(['id', 'host:port', 'rack'], info.brokers.map((b) => [`${b.nodeId}${b.controller ? '*' : ''}`, `${b.host}:${b.port}`, b.rack])))
    ]))
    return 0
  }
})
