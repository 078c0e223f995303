/**
 * Where admin requests go, with retries: any broker, the controller, one broker, partition
 * leaders or a coordinator. Kafka error codes in responses are data until a caller turns them
 * into errors; these helpers retry only whole-request failures (network, timeouts, and the
 * NOT_CONTROLLER / coordinator errors a caller throws from `fn`).
 */
import { type ApiDefinition, ErrorCode } from '@samsa/protocol'
import type { Cluster } from '../cluster.ts'
import type { Connection, RequestBody, RequestOptions } from '../connection.ts'
import {
  type ItemFailure, KafkaClientError, KafkaInvalidArgumentError, KafkaPartialFailureError, KafkaResponseError
} from '../errors.ts'
import { withRetry } from '../retry.ts'

/** Sends to the least loaded broker, retrying retriable failures. */
export async function requestAny<Req, Res> (cluster: Cluster, api: ApiDefinition<Req, Res>, body: RequestBody<Req>, options: RequestOptions = {}): Promise<Res> {
  return await withRetry(async () => await (await cluster.anyConnection()).request(api, body, options), cluster.retryPolicy)
}

/** Sends to one broker by node id, retrying retriable failures. */
export async function requestBroker<Req, Res> (cluster: Cluster, nodeId: number, api: ApiDefinition<Req, Res>, body: RequestBody<Req>, options: RequestOptions = {}): Promise<Res> {
  return await withRetry(async () => await (await cluster.connection(nodeId)).request(api, body, options), cluster.retryPolicy)
}

/**
 * Runs `fn` with a connection to the controller (Kafka sends CreateTopics and the like there);
 * when `fn` throws NOT_CONTROLLER, metadata is refreshed and it runs again.
 */
export async function withController<T> (cluster: Cluster, fn: (connection: Connection) => Promise<T>): Promise<T> {
  return await withRetry(async ({ lastError }) => {
    if (lastError instanceof KafkaResponseError && lastError.errorName === 'NOT_CONTROLLER') await cluster.refreshMetadata({ topics: [] })
    return await fn(await cluster.controllerConnection())
  }, cluster.retryPolicy)
}

/** A topic-partition. */
export interface TopicPartition {
  topic: string
  partition: number
}

/**
 * Groups partitions by their leader, refreshing metadata for their topics first. Partitions
 * of unknown topics or without a leader are returned as failures.
 */
export async function groupByLeader<T extends TopicPartition> (cluster: Cluster, items: readonly T[]): Promise<{ byLeader: Map<number, T[]>, failures: ItemFailure[] }> {
  const topics = [...new Set(items.map((i) => i.topic))]
  await cluster.refreshMetadata({ topics })
  const byLeader = new Map<number, T[]>()
  const failures: ItemFailure[] = []
  for (const item of items) {
    const info = cluster.topic(item.topic)
    const path = `topics/${item.topic}/partitions/${item.partition}`
    if (info === undefined || info.errorCode !== 0 && info.partitions.length === 0) {
      failures.push({ path, error: new KafkaResponseError(info?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null, { api: 'Metadata', topic: item.topic }) })
      continue
    }
    const partition = info.partitions[item.partition]
    if (partition === undefined) {
      failures.push({ path, error: new KafkaResponseError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Partition ${item.partition} does not exist`, { api: 'Metadata', topic: item.topic, partition: item.partition }) })
      continue
    }
    if (partition.leaderId < 0) {
      failures.push({ path, error: new KafkaResponseError(ErrorCode.LEADER_NOT_AVAILABLE, null, { api: 'Metadata', topic: item.topic, partition: item.partition }) })
      continue
    }
    const list = byLeader.get(partition.leaderId)
    if (list === undefined) byLeader.set(partition.leaderId, [item])
    else list.push(item)
  }
  return { byLeader, failures }
}

/** Groups items by topic, keeping order. */
export function byTopic<T extends { topic: string }> (items: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>()
  for (const item of items) {
    const list = map.get(item.topic)
    if (list === undefined) map.set(item.topic, [item])
    else list.push(item)
  }
  return map
}

/** Returns `result`, or throws KafkaPartialFailureError keeping it when some items failed. */
export function resultOrPartial<T> (what: string, result: T, failures: readonly ItemFailure[]): T {
  if (failures.length > 0) throw new KafkaPartialFailureError(what, { failures, result })
  return result
}

/** Turns a thrown value into an item failure. */
export function failure (path: string, error: unknown): ItemFailure {
  return { path, error: error instanceof KafkaClientError ? error : new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, String(error)) }
}

/**
 * Throws KafkaInvalidArgumentError unless `items` is a non-empty array. (A helper rather than
 * an inline Array.isArray, which would narrow a readonly array to any[].)
 */
export function requireItems (items: readonly unknown[] | undefined, message: string): void {
  if (!Array.isArray(items) || items.length === 0) throw new KafkaInvalidArgumentError(message)
}
