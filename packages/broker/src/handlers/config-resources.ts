/**
 * Config resources shared by DescribeConfigs, AlterConfigs and IncrementalAlterConfigs:
 * resource type codes (ConfigResource.Type) and resolving a resource to what it configures.
 */
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import type { BrokerContext } from '../broker-context.ts'
import { topicNameError } from '../topics/topic-name.ts'
import type { Topic } from '../topics/topic-registry.ts'

export const ConfigResourceType = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const

export type ConfigTarget =
  | { kind: 'topic', topic: Topic }
  | { kind: 'broker', perBroker: boolean }
  | { kind: 'broker-logger' }

/** What a (type, name) resource refers to on this broker; throws Kafka's error otherwise. */
export function resolveConfigResource (broker: BrokerContext, resourceType: number, resourceName: string): ConfigTarget {
  switch (resourceType) {
    case ConfigResourceType.TOPIC: {
      const nameError = topicNameError(resourceName)
      if (nameError !== null) throw new KafkaProtocolError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError)
      const topic = broker.topics.get(resourceName)
      if (topic === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resourceName} does not exist.`)
      return { kind: 'topic', topic }
    }
    case ConfigResourceType.BROKER:
    case ConfigResourceType.BROKER_LOGGER: {
      if (resourceName !== '' && resourceName !== String(broker.nodeId)) {
        throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${resourceName}`)
      }
      if (resourceType === ConfigResourceType.BROKER_LOGGER) {
        if (resourceName === '') throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, 'Broker id must not be empty')
        return { kind: 'broker-logger' }
      }
      return { kind: 'broker', perBroker: resourceName !== '' }
    }
    default:
      throw new KafkaProtocolError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}`)
  }
}
