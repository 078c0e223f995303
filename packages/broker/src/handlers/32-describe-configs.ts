/**
 * DescribeConfigs (key 32), versions 0-4.
 *
 * Topic resources: every topic config with its effective value and where it comes from (the
 * topic override, a broker synonym such as log.retention.hours, or the default). Broker
 * resources: this broker's configs (name = its id) or the cluster-wide dynamic defaults
 * (name ""). v1+ can include synonyms, v3+ types and documentation. Sensitive values are null.
 * BROKER_LOGGER answers the broker's log level.
 */
import { DescribeConfigsApi, ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { DescribeConfigsResourceResult, DescribeConfigsResponse, DescribeConfigsResult } from '@samsa/protocol/messages/describe-configs'
import { type DescribedConfig, ConfigSource, ConfigTypeCode, describeBrokerConfigs, describeTopicConfigs } from '../config/mod.ts'
import { defineHandler } from './handler.ts'
import { resolveConfigResource } from './config-resources.ts'

function toResult (c: DescribedConfig): DescribeConfigsResourceResult {
  return {
    name: c.name,
    value: c.value,
    readOnly: c.readOnly,
    isDefault: c.isDefault,
    configSource: c.configSource,
    isSensitive: c.isSensitive,
    synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })),
    configType: c.configType,
    documentation: c.documentation
  }
}

export const describeConfigsHandler = defineHandler(DescribeConfigsApi, [0, 4], (ctx, req) => {
  const broker = ctx.broker
  const v = ctx.apiVersion
  const includeSynonyms = v >= 1 && req.includeSynonyms
  const includeDocumentation = v >= 3 && req.includeDocumentation
  const response: DescribeConfigsResponse = { ...DescribeConfigsApi.response.create(), results: [] }
  for (const resource of req.resources) {
    const result: DescribeConfigsResult = {
      errorCode: ErrorCode.NONE, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: []
    }
    response.results.push(result)
    try {
      const target = resolveConfigResource(broker, resource.resourceType, resource.resourceName)
      if (target.kind === 'topic') {
        result.configs = describeTopicConfigs(target.topic.configs, broker.config, resource.configurationKeys, includeSynonyms, includeDocumentation, { dynamic: broker.dynamicConfigs })
          .map(toResult)
      } else if (target.kind === 'broker') {
        result.configs = describeBrokerConfigs(broker.config, resource.configurationKeys, {
          includeSynonyms, includeDocumentation, dynamic: broker.dynamicConfigs, perBroker: target.perBroker
        }).map(toResult)
      } else {
        const keys = resource.configurationKeys
        if (keys === null || keys.includes('root')) {
          result.configs = [{
            name: 'root',
            value: broker.logger.level.toUpperCase(),
            readOnly: false,
            isDefault: false,
            configSource: ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG,
            isSensitive: false,
            synonyms: [],
            configType: ConfigTypeCode.STRING,
            documentation: null
          }]
        }
      }
    } catch (error) {
      if (!(error instanceof KafkaProtocolError)) throw error
      result.errorCode = error.code
      result.errorMessage = error.errorMessage
    }
  }
  return response
})
