/** Config administration: DescribeConfigs (with synonyms) and IncrementalAlterConfigs. */
import { DescribeConfigsApi, IncrementalAlterConfigsApi } from '@samsa/protocol'
import type { DescribeConfigsResource } from '@samsa/protocol/messages/describe-configs'
import type { AlterConfigsResource } from '@samsa/protocol/messages/incremental-alter-configs'
import type { Cluster } from '../cluster.ts'
import { type ItemFailure, KafkaInvalidArgumentError, KafkaResponseError } from '../errors.ts'
import { failure, requestAny, requestBroker, resultOrPartial, requireItems } from './routing.ts'

/** Kafka's `ConfigResource.Type` ids. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const
export type ConfigResourceType = typeof ConfigResourceType[keyof typeof ConfigResourceType]

/** Kafka's `ConfigEntry.ConfigSource` names by the wire id (DescribeConfigsResponse ConfigSource). */
const SOURCES = [
  'UNKNOWN', 'DYNAMIC_TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG',
  'DEFAULT_CONFIG', 'DYNAMIC_BROKER_LOGGER_CONFIG', 'DYNAMIC_CLIENT_METRICS_CONFIG', 'DYNAMIC_GROUP_CONFIG'
] as const
export type ConfigSource = typeof SOURCES[number]

export function configSourceName (id: number): ConfigSource {
  return SOURCES[id] ?? 'UNKNOWN'
}

/** Kafka's `ConfigEntry.ConfigType` names by wire id (DescribeConfigs v3+). */
const TYPES = ['UNKNOWN', 'BOOLEAN', 'STRING', 'INT', 'SHORT', 'LONG', 'DOUBLE', 'LIST', 'CLASS', 'PASSWORD'] as const
export type ConfigType = typeof TYPES[number]

export interface ConfigSynonym {
  name: string
  value: string | null
  source: ConfigSource
}

export interface ConfigEntry {
  name: string
  /** Null for sensitive values and unset configs. */
  value: string | null
  readOnly: boolean
  isDefault: boolean
  source: ConfigSource
  isSensitive: boolean
  /** With `includeSynonyms`: where else the value could come from, most specific first. */
  synonyms: ConfigSynonym[]
  /** DescribeConfigs v3+. */
  type?: ConfigType
  /** With `includeDocumentation` (v3+). */
  documentation?: string | null
}

export interface ConfigResource {
  type: ConfigResourceType
  /** Topic name, broker id as a string ('' for the cluster-wide broker default), group id... */
  name: string
  /** Only these configs; default all. */
  configNames?: readonly string[]
}

export interface ConfigResourceDescription {
  type: ConfigResourceType
  name: string
  configs: ConfigEntry[]
}

export interface DescribeConfigsOptions {
  includeSynonyms?: boolean
  includeDocumentation?: boolean
}

/** Broker resources with a broker id must go to that broker; everything else to any broker. */
function destination (resource: { type: number, name: string }): number | null {
  if ((resource.type === ConfigResourceType.BROKER || resource.type === ConfigResourceType.BROKER_LOGGER) && resource.name !== '') {
    const id = Number(resource.name)
    if (!Number.isInteger(id)) throw new KafkaInvalidArgumentError(`Broker config resource name '${resource.name}' is not a broker id`)
    return id
  }
  return null
}

function groupByDestination<T extends { type: number, name: string }> (resources: readonly T[]): Map<number | null, T[]> {
  const map = new Map<number | null, T[]>()
  for (const r of resources) {
    const d = destination(r)
    const list = map.get(d)
    if (list === undefined) map.set(d, [r])
    else list.push(r)
  }
  return map
}

export async function describeConfigs (cluster: Cluster, resources: readonly ConfigResource[], options: DescribeConfigsOptions = {}): Promise<ConfigResourceDescription[]> {
  requireItems(resources, 'describeConfigs() needs at least one resource')
  const result: ConfigResourceDescription[] = []
  const failures: ItemFailure[] = []
  await Promise.all([...groupByDestination(resources)].map(async ([nodeId, list]) => {
    const body = {
      resources: list.map((r): DescribeConfigsResource => ({ resourceType: r.type, resourceName: r.name, configurationKeys: r.configNames === undefined ? null : [...r.configNames] })),
      includeSynonyms: options.includeSynonyms ?? false,
      includeDocumentation: options.includeDocumentation ?? false
    }
    let version = 0
    try {
      const build = (v: number): typeof body => {
        version = v
        return body
      }
      const response = nodeId === null ? await requestAny(cluster, DescribeConfigsApi, build) : await requestBroker(cluster, nodeId, DescribeConfigsApi, build)
      for (const r of response.results) {
        if (r.errorCode !== 0) {
          failures.push({ path: `configs/${r.resourceType}/${r.resourceName}`, error: new KafkaResponseError(r.errorCode, r.errorMessage, { api: 'DescribeConfigs', resource: r.resourceName }) })
          continue
        }
        result.push({
          type: r.resourceType as ConfigResourceType,
          name: r.resourceName,
          configs: r.configs.map((c) => {
            const entry: ConfigEntry = {
              name: c.name,
              value: c.value,
              readOnly: c.readOnly,
              isDefault: version === 0 ? c.isDefault : c.configSource === 5,
              source: version === 0 ? (c.isDefault ? 'DEFAULT_CONFIG' : 'UNKNOWN') : configSourceName(c.configSource),
              isSensitive: c.isSensitive,
              synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: configSourceName(s.source) }))
            }
            if (version >= 3) {
              entry.type = TYPES[c.configType] ?? 'UNKNOWN'
              if (options.includeDocumentation === true) entry.documentation = c.documentation
            }
            return entry
          })
        })
      }
    } catch (error) {
      for (const r of list) failures.push(failure(`configs/${r.type}/${r.name}`, error))
    }
  }))
  return resultOrPartial(`Describing ${failures.length} of ${resources.length} config resources failed`, result, failures)
}

/** IncrementalAlterConfigs operations (`AlterConfigOp.OpType`). */
export const AlterConfigOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const
export type AlterConfigOpName = 'set' | 'delete' | 'append' | 'subtract'

export interface ConfigChange {
  name: string
  /** Default 'set'. 'delete' reverts to the default. */
  op?: AlterConfigOpName
  value?: string | number | boolean | null
}

export interface AlterConfigResource {
  type: ConfigResourceType
  name: string
  configs: readonly ConfigChange[]
}

export interface AlterConfigsOptions {
  validateOnly?: boolean
}

const OPS: Record<AlterConfigOpName, number> = { set: 0, delete: 1, append: 2, subtract: 3 }

export async function incrementalAlterConfigs (cluster: Cluster, resources: readonly AlterConfigResource[], options: AlterConfigsOptions = {}): Promise<void> {
  requireItems(resources, 'incrementalAlterConfigs() needs at least one resource')
  const failures: ItemFailure[] = []
  await Promise.all([...groupByDestination(resources)].map(async ([nodeId, list]) => {
    const body = {
      resources: list.map((r): AlterConfigsResource => ({
        resourceType: r.type,
        resourceName: r.name,
        configs: r.configs.map((c: ConfigChange) => {
          const op = OPS[c.op ?? 'set']
          if (op === undefined) throw new KafkaInvalidArgumentError(`Unknown config operation '${String(c.op)}'`)
          return { name: c.name, configOperation: op, value: c.value == null ? null : String(c.value) }
        })
      })),
      validateOnly: options.validateOnly ?? false
    }
    try {
      const response = nodeId === null
        ? await requestAny(cluster, IncrementalAlterConfigsApi, body)
        : await requestBroker(cluster, nodeId, IncrementalAlterConfigsApi, body)
      for (const r of response.responses) {
        if (r.errorCode !== 0) failures.push({ path: `configs/${r.resourceType}/${r.resourceName}`, error: new KafkaResponseError(r.errorCode, r.errorMessage, { api: 'IncrementalAlterConfigs', resource: r.resourceName }) })
      }
    } catch (error) {
      for (const r of list) failures.push(failure(`configs/${r.type}/${r.name}`, error))
    }
  }))
  resultOrPartial(`Altering ${failures.length} of ${resources.length} config resources failed`, undefined, failures)
}
