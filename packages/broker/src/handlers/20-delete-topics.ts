/**
 * DeleteTopics (key 20), versions 0-6.
 *
 * Deletes topics by name (v0-5 `topicNames`, v6 `topics[].name`) or by id (v6). Each deletion
 * is recorded in the metadata store before the logs are removed. `delete.topic.enable=false`
 * answers TOPIC_DELETION_DISABLED.
 */
import { DeleteTopicsApi, ErrorCode, KafkaProtocolError, ZERO_UUID } from '@samsa/protocol'
import type { DeletableTopicResult, DeleteTopicsResponse } from '@samsa/protocol/messages/delete-topics'
import { defineHandler } from './handler.ts'

export const deleteTopicsHandler = defineHandler(DeleteTopicsApi, [0, 6], async (ctx, req) => {
  const v = ctx.apiVersion
  const broker = ctx.broker
  const response: DeleteTopicsResponse = { ...DeleteTopicsApi.response.create(), responses: [] }
  const targets = v >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }))
  for (const target of targets) {
    const result: DeletableTopicResult = { name: target.name, topicId: target.topicId, errorCode: ErrorCode.NONE, errorMessage: null }
    response.responses.push(result)
    const byId = target.name === null
    const topic = byId ? broker.topics.getById(target.topicId) : broker.topics.get(target.name!)
    if (topic === undefined) {
      result.errorCode = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      continue
    }
    result.name = topic.name
    result.topicId = topic.topicId
    if (!broker.settings.deleteTopicEnable) {
      result.errorCode = ErrorCode.TOPIC_DELETION_DISABLED
      continue
    }
    try {
      await broker.topics.delete(topic.name)
    } catch (error) {
      if (!(error instanceof KafkaProtocolError)) throw error
      result.errorCode = error.code
      result.errorMessage = error.errorMessage
    }
  }
  return response
})
