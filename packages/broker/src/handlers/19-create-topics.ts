/**
 * CreateTopics (key 19), versions 0-7.
 *
 * Creates topics with a partition count and replication factor (-1: the broker defaults
 * `num.partitions` / `default.replication.factor`, v4+) or explicit replica assignments, and
 * config overrides validated like AlterConfigs. `validateOnly` checks everything and creates
 * nothing. v5+ responses carry the topic id, partition count, replication factor and every
 * config of the topic; v1+ carry an error message.
 */
import { CreateTopicsApi, ErrorCode, KafkaProtocolError, ZERO_UUID } from '@samsa/protocol'
import type { CreatableTopicResult, CreateTopicsResponse } from '@samsa/protocol/messages/create-topics'
import { defineHandler } from './handler.ts'

export const createTopicsHandler = defineHandler(CreateTopicsApi, [0, 7], async (ctx, req) => {
  const broker = ctx.broker
  const response: CreateTopicsResponse = { ...CreateTopicsApi.response.create(), topics: [] }
  const counts = new Map<string, number>()
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
  for (const t of req.topics) {
    const result: CreatableTopicResult = {
      name: t.name,
      topicId: ZERO_UUID,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topicConfigErrorCode: ErrorCode.NONE,
      numPartitions: -1,
      replicationFactor: -1,
      configs: null
    }
    response.topics.push(result)
    if (counts.get(t.name)! > 1) {
      result.errorCode = ErrorCode.INVALID_REQUEST
      result.errorMessage = `Create topics request from client \`${ctx.header.clientId ?? ''}\` contains multiple entries for the following topics: ${t.name}`
      continue
    }
    try {
      const raw: Record<string, string> = {}
      for (const c of t.configs) {
        if (c.value === null) throw new KafkaProtocolError(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${c.name}`)
        raw[c.name] = c.value
      }
      const configs = broker.validateTopicConfigs(raw)
      const spec = {
        name: t.name,
        numPartitions: t.numPartitions === -1 && t.assignments.length === 0 ? broker.settings.numPartitions : t.numPartitions,
        replicationFactor: t.replicationFactor === -1 && t.assignments.length === 0 ? broker.settings.defaultReplicationFactor : t.replicationFactor,
        assignments: [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a, i) => {
          if (a.partitionIndex !== i) throw new KafkaProtocolError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be numbered from 0 without gaps.')
          return a.brokerIds
        }),
        configs
      }
      if (req.validateOnly) {
        const assignment = broker.topics.validateCreate(spec)
        result.numPartitions = assignment.length
        result.replicationFactor = assignment[0]?.length ?? -1
      } else {
        const topic = await broker.topics.create(spec)
        result.topicId = topic.topicId
        result.numPartitions = topic.partitions.length
        result.replicationFactor = topic.replicationFactor
      }
      if (ctx.apiVersion >= 5) result.configs = broker.describeTopicConfigs(configs)
    } catch (error) {
      if (!(error instanceof KafkaProtocolError)) throw error
      result.errorCode = error.code
      result.errorMessage = ctx.apiVersion >= 1 ? error.errorMessage : null
    }
  }
  return response
})
