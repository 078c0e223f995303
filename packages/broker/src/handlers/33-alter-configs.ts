/**
 * AlterConfigs (key 33), versions 0-2: the legacy, whole-set form. A topic's overrides become
 * exactly the given configs (those not listed revert to the broker defaults); a broker
 * resource's dynamic configs likewise (only dynamically updatable configs are accepted).
 * `validateOnly` checks without changing anything. Changes are persisted before the answer.
 */
import { AlterConfigsApi, ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { AlterConfigsResourceResponse, AlterConfigsResponse } from '@samsa/protocol/messages/alter-configs'
import { defineHandler } from './handler.ts'
import { resolveConfigResource } from './config-resources.ts'

export const alterConfigsHandler = defineHandler(AlterConfigsApi, [0, 2], async (ctx, req) => {
  const broker = ctx.broker
  const response: AlterConfigsResponse = { ...AlterConfigsApi.response.create(), responses: [] }
  for (const resource of req.resources) {
    const out: AlterConfigsResourceResponse = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName }
    response.responses.push(out)
    try {
      const target = resolveConfigResource(broker, resource.resourceType, resource.resourceName)
      const configs: Record<string, string> = {}
      for (const c of resource.configs) {
        if (c.value === null) throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${c.name}`)
        configs[c.name] = c.value
      }
      if (target.kind === 'topic') {
        const validated = broker.validateTopicConfigs(configs)
        if (!req.validateOnly) await broker.topics.setConfigs(target.topic.name, validated)
      } else if (target.kind === 'broker') {
        if (!req.validateOnly) await broker.setDynamicBrokerConfigs(target.perBroker, configs)
      } else {
        throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'AlterConfigs is not supported for broker loggers; use IncrementalAlterConfigs')
      }
    } catch (error) {
      if (!(error instanceof KafkaProtocolError)) throw error
      out.errorCode = error.code
      out.errorMessage = error.errorMessage
    }
  }
  return response
})
