/** Cluster description: DescribeCluster (or Metadata on older brokers) and DescribeLogDirs. */
import { DescribeClusterApi, DescribeLogDirsApi } from '@samsa/protocol'
import type { BrokerInfo, Cluster } from '../cluster.ts'
import { type ItemFailure, KafkaResponseError } from '../errors.ts'
import { type TopicPartition, byTopic, failure, requestAny, requestBroker, resultOrPartial } from './routing.ts'

export interface ClusterDescription {
  clusterId: string | null
  controllerId: number
  brokers: BrokerInfo[]
}

export async function describeCluster (cluster: Cluster): Promise<ClusterDescription> {
  const connection = await cluster.anyConnection()
  if (!connection.supports(DescribeClusterApi)) {
    const metadata = await cluster.refreshMetadata({ topics: [] })
    return { clusterId: metadata.clusterId, controllerId: metadata.controllerId, brokers: [...metadata.brokers.values()].sort((a, b) => a.nodeId - b.nodeId) }
  }
  const response = await requestAny(cluster, DescribeClusterApi, { includeClusterAuthorizedOperations: false, endpointType: 1 })
  if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, response.errorMessage, { api: 'DescribeCluster' })
  return {
    clusterId: response.clusterId,
    controllerId: response.controllerId,
    brokers: response.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId)
  }
}

export interface LogDirPartition extends TopicPartition {
  /** Bytes of the partition's segments. */
  size: bigint
  offsetLag: bigint
  isFuture: boolean
}

export interface LogDirDescription {
  brokerId: number
  path: string
  /** Non-zero if the directory is offline (KAFKA_STORAGE_ERROR) or similar. */
  errorCode: number
  /** DescribeLogDirs v4+, else -1n. */
  totalBytes: bigint
  usableBytes: bigint
  partitions: LogDirPartition[]
}

export interface DescribeLogDirsOptions {
  /** Default: every broker. */
  brokerIds?: readonly number[]
  /** Default: every partition. */
  partitions?: readonly TopicPartition[]
}

export async function describeLogDirs (cluster: Cluster, options: DescribeLogDirsOptions = {}): Promise<LogDirDescription[]> {
  const metadata = await cluster.refreshMetadata({ topics: [] })
  const brokerIds = options.brokerIds ?? [...metadata.brokers.keys()].sort((a, b) => a - b)
  const topics = options.partitions === undefined ? null : [...byTopic(options.partitions)].map(([topic, ps]) => ({ topic, partitions: ps.map((p) => p.partition) }))
  const result: LogDirDescription[] = []
  const failures: ItemFailure[] = []
  await Promise.all(brokerIds.map(async (brokerId) => {
    try {
      const response = await requestBroker(cluster, brokerId, DescribeLogDirsApi, { topics })
      if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'DescribeLogDirs', resource: String(brokerId) })
      for (const dir of response.results) {
        result.push({
          brokerId,
          path: dir.logDir,
          errorCode: dir.errorCode,
          totalBytes: dir.totalBytes,
          usableBytes: dir.usableBytes,
          partitions: dir.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, size: p.partitionSize, offsetLag: p.offsetLag, isFuture: p.isFutureKey })))
        })
      }
    } catch (error) {
      failures.push(failure(`brokers/${brokerId}`, error))
    }
  }))
  result.sort((a, b) => a.brokerId - b.brokerId || (a.path < b.path ? -1 : 1))
  return resultOrPartial(`Describing log dirs failed on ${failures.length} brokers`, result, failures)
}
