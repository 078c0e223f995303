/**
 * Metadata (key 3), versions 0-12.
 *
 * Every live broker (with the host and port of the listener the client used: its own for this
 * broker, the registered one for the others), the cluster id and controller, and the requested
 * topics with partition leaders, replicas, ISR, offline replicas and topic ids (v10+). v0 asks for all topics with an empty list, v1+ with null. Unknown topics are
 * created when `auto.create.topics.enable` is on and the request allows it (always before
 * v4, `allowAutoTopicCreation` from v4), with `num.partitions` and
 * `default.replication.factor`; the new topic is returned ready rather than with
 * LEADER_NOT_AVAILABLE, since it is created before the response is sent. v10+ may name
 * topics by id only.
 */
import { ErrorCode, KafkaProtocolError, MetadataApi, ZERO_UUID } from '@samsa/protocol'
import type { MetadataResponse, MetadataResponseTopic } from '@samsa/protocol/messages/metadata'
import { OFFSETS_TOPIC } from '../group/group-coordinator.ts'
import { topicNameError } from '../topics/topic-name.ts'
import type { Topic } from '../topics/topic-registry.ts'
import { defineHandler } from './handler.ts'
import { describePartition, liveBrokerIds } from './partition-metadata.ts'
import { TOPIC_AUTHORIZED_OPERATIONS, UNKNOWN_AUTHORIZED_OPERATIONS } from './authorized-operations.ts'

export const metadataHandler = defineHandler(MetadataApi, [0, 12], async (ctx, req) => {
  const v = ctx.apiVersion
  const broker = ctx.broker
  const response: MetadataResponse = {
    ...MetadataApi.response.create(),
    brokers: broker.brokers().flatMap((b) => {
      const endpoint = broker.endpointFor(b.nodeId, ctx.connection)
      return endpoint === undefined ? [] : [{ nodeId: b.nodeId, host: endpoint.host, port: endpoint.port, rack: b.rack }]
    }),
    clusterId: broker.clusterId,
    controllerId: broker.controllerId(),
    clusterAuthorizedOperations: UNKNOWN_AUTHORIZED_OPERATIONS
  }
  const includeOps = v >= 8 && req.includeTopicAuthorizedOperations
  const live = liveBrokerIds(broker)
  const all = req.topics === null || (v === 0 && req.topics.length === 0)
  if (all) {
    response.topics = broker.topics.list().map((t) => describeTopic(t, includeOps, live))
    return response
  }
  const allowCreate = broker.settings.autoCreateTopicsEnable && (v < 4 || req.allowAutoTopicCreation)
  for (const requested of req.topics ?? []) {
    if (requested.name === null) {
      const topic = broker.topics.getById(requested.topicId)
      response.topics.push(topic === undefined
        ? { ...errorTopic(null, ErrorCode.UNKNOWN_TOPIC_ID), topicId: requested.topicId }
        : describeTopic(topic, includeOps, live))
      continue
    }
    const name = requested.name
    const existing = broker.topics.get(name)
    if (existing !== undefined) {
      response.topics.push(describeTopic(existing, includeOps, live))
      continue
    }
    if (topicNameError(name) !== null) {
      response.topics.push(errorTopic(name, ErrorCode.INVALID_TOPIC_EXCEPTION))
      continue
    }
    if (!allowCreate) {
      response.topics.push(errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
      continue
    }
    try {
      // __consumer_offsets is created by the group coordinator, with its own partition count and configs.
      if (name === OFFSETS_TOPIC) await broker.groupCoordinator.ensureOffsetsTopic()
      const created = broker.topics.get(name) ?? await broker.topics.autoCreate(name, broker.settings.numPartitions, broker.settings.defaultReplicationFactor)
      response.topics.push(describeTopic(created, includeOps, live))
    } catch (error) {
      if (!(error instanceof KafkaProtocolError)) throw error
      broker.logger.debug('Auto-creation failed', { topic: name, error })
      response.topics.push(errorTopic(name, error.code))
    }
  }
  return response
})

function errorTopic (name: string | null, errorCode: number): MetadataResponseTopic {
  return {
    errorCode,
    name,
    topicId: ZERO_UUID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: UNKNOWN_AUTHORIZED_OPERATIONS
  }
}

function describeTopic (topic: Topic, includeOps: boolean, live: ReadonlySet<number>): MetadataResponseTopic {
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: topic.internal,
    partitions: topic.partitions.map((p) => describePartition(p, live)),
    topicAuthorizedOperations: includeOps ? TOPIC_AUTHORIZED_OPERATIONS : UNKNOWN_AUTHORIZED_OPERATIONS
  }
}
