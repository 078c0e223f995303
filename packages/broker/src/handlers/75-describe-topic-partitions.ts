/**
 * DescribeTopicPartitions (key 75), version 0 (KIP-966): topics and partitions like Metadata,
 * paginated: at most `responsePartitionLimit` partitions per response, continuing from
 * `cursor`; `nextCursor` says where the next page starts. An empty topic list means every
 * topic, in name order.
 */
import { DescribeTopicPartitionsApi, ErrorCode, ZERO_UUID } from '@samsa/protocol'
import type { DescribeTopicPartitionsResponse, DescribeTopicPartitionsResponseTopic } from '@samsa/protocol/messages/describe-topic-partitions'
import { TOPIC_AUTHORIZED_OPERATIONS } from './authorized-operations.ts'
import { defineHandler } from './handler.ts'
import { describePartition, liveBrokerIds } from './partition-metadata.ts'

const MAX_LIMIT = 2000

export const describeTopicPartitionsHandler = defineHandler(DescribeTopicPartitionsApi, [0, 0], (ctx, req) => {
  const registry = ctx.broker.topics
  const names = (req.topics.length === 0 ? registry.list().map((t) => t.name) : req.topics.map((t) => t.name)).sort()
  const limit = Math.max(1, Math.min(req.responsePartitionLimit, MAX_LIMIT))
  const cursor = req.cursor
  const response: DescribeTopicPartitionsResponse = { ...DescribeTopicPartitionsApi.response.create(), topics: [], nextCursor: null }
  let budget = limit
  const live = liveBrokerIds(ctx.broker)
  for (const name of names) {
    if (cursor !== null && name < cursor.topicName) continue
    const first = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0
    // The page is full: the next one starts at this topic, which this one leaves out (as Kafka does).
    if (budget === 0) {
      response.nextCursor = { topicName: name, partitionIndex: first }
      return response
    }
    const topic = registry.get(name)
    if (topic === undefined) {
      response.topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: TOPIC_AUTHORIZED_OPERATIONS })
      continue
    }
    const out: DescribeTopicPartitionsResponseTopic = {
      errorCode: ErrorCode.NONE, name, topicId: topic.topicId, isInternal: topic.internal, partitions: [], topicAuthorizedOperations: TOPIC_AUTHORIZED_OPERATIONS
    }
    response.topics.push(out)
    for (let i = first; i < topic.partitions.length; i++) {
      if (budget === 0) {
        response.nextCursor = { topicName: name, partitionIndex: i }
        return response
      }
      const p = topic.partitions[i]!
      out.partitions.push({ ...describePartition(p, live), eligibleLeaderReplicas: [], lastKnownElr: [] })
      budget--
    }
  }
  return response
})
