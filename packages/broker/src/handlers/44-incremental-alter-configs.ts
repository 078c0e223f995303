/**
 * IncrementalAlterConfigs (key 44), versions 0-1 (KIP-339): SET, DELETE, APPEND and SUBTRACT
 * (the last two only for LIST configs) applied to a topic's overrides or a broker resource's
 * dynamic configs, validated as a whole before anything changes. `validateOnly` checks only.
 * BROKER_LOGGER resources may SET or DELETE the root log level.
 */
import { ErrorCode, IncrementalAlterConfigsApi, KafkaProtocolError } from '@samsa/protocol'
import type { AlterConfigsResourceResponse, IncrementalAlterConfigsResponse } from '@samsa/protocol/messages/incremental-alter-configs'
import { BROKER_CONFIG_DEF, ConfigError, applyAlterConfigOps, incrementalAlterTopicConfigs } from '../config/mod.ts'
import { defineHandler } from './handler.ts'
import { resolveConfigResource } from './config-resources.ts'

export const incrementalAlterConfigsHandler = defineHandler(IncrementalAlterConfigsApi, [0, 1], async (ctx, req) => {
  const broker = ctx.broker
  const response: IncrementalAlterConfigsResponse = { ...IncrementalAlterConfigsApi.response.create(), responses: [] }
  for (const resource of req.resources) {
    const out: AlterConfigsResourceResponse = { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName }
    response.responses.push(out)
    try {
      const target = resolveConfigResource(broker, resource.resourceType, resource.resourceName)
      const ops = resource.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value }))
      if (target.kind === 'topic') {
        const next = incrementalAlterTopicConfigs(target.topic.configs, ops, { brokerConfig: broker.config, dynamic: broker.dynamicConfigs })
        if (!req.validateOnly) await broker.topics.setConfigs(target.topic.name, next)
      } else if (target.kind === 'broker') {
        const layer = target.perBroker ? broker.dynamicConfigs.broker : broker.dynamicConfigs.clusterDefault
        const next = applyAlterConfigOps(layer ?? {}, ops, BROKER_CONFIG_DEF)
        if (!req.validateOnly) await broker.setDynamicBrokerConfigs(target.perBroker, next)
      } else {
        throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'Changing log levels at runtime is not supported; restart with --log-level')
      }
    } catch (error) {
      if (error instanceof ConfigError) {
        out.errorCode = error.errorCode
        out.errorMessage = error.message
      } else if (error instanceof KafkaProtocolError) {
        out.errorCode = error.code
        out.errorMessage = error.errorMessage
      } else {
        throw error
      }
    }
  }
  return response
})
