/**
 * CreatePartitions (key 37), versions 0-3.
 *
 * Grows topics to `count` partitions, with explicit replica assignments for the new ones or
 * Kafka's round-robin placement; `validateOnly` checks without changing anything.
 */
import { CreatePartitionsApi, ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { CreatePartitionsResponse, CreatePartitionsTopicResult } from '@samsa/protocol/messages/create-partitions'
import { defineHandler } from './handler.ts'

export const createPartitionsHandler = defineHandler(CreatePartitionsApi, [0, 3], async (ctx, req) => {
  const topics = ctx.broker.topics
  const response: CreatePartitionsResponse = { ...CreatePartitionsApi.response.create(), results: [] }
  const seen = new Set<string>()
  for (const t of req.topics) {
    const result: CreatePartitionsTopicResult = { name: t.name, errorCode: ErrorCode.NONE, errorMessage: null }
    response.results.push(result)
    if (seen.has(t.name)) {
      result.errorCode = ErrorCode.INVALID_REQUEST
      result.errorMessage = 'Duplicate topic in request.'
      continue
    }
    seen.add(t.name)
    const assignments = t.assignments === null ? null : t.assignments.map((a) => a.brokerIds)
    try {
      if (req.validateOnly) topics.validateAddPartitions(t.name, t.count, assignments)
      else await topics.addPartitions(t.name, t.count, assignments)
    } catch (error) {
      if (!(error instanceof KafkaProtocolError)) throw error
      result.errorCode = error.code
      result.errorMessage = error.errorMessage
    }
  }
  return response
})
