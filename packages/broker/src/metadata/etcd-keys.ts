/**
 * The key layout of Samsa's cluster metadata in etcd, and the JSON each key holds. Every key
 * lives under one prefix, `/samsa/<namespace>/` (namespace `default` unless the store URL names
 * one: `etcd://host:2379/<namespace>`), so several Samsa clusters can share an etcd.
 *
 *     <P>/cluster                    {"clusterId":"<22-char id>"}            created once (create-if-absent)
 *     <P>/brokers/<nodeId>           {"nodeId","rack","endpoints":[...],"incarnationId","controlledShutdown"}
 *                                    bound to the broker's lease: gone when the broker's session ends;
 *                                    the key's create revision is the broker epoch
 *     <P>/controller                 {"nodeId":N} bound to the controller's lease; create revision =
 *                                    controller epoch (a write fenced by it compares that revision)
 *     <P>/topics/<name>              {"topicId","partitions":<count>,"configs":{...}}
 *     <P>/partitions/<name>/<index>  {"replicas","leader","leaderEpoch","isr","partitionEpoch",
 *                                     "addingReplicas","removingReplicas"}  changed only by a txn that
 *                                    compares the key's mod revision (the partition-epoch CAS)
 *     <P>/configs/brokers/<nodeId>   dynamic per-broker configs {"name":"value",...}
 *     <P>/configs/cluster            dynamic cluster-wide broker configs
 *     <P>/producer-ids               {"nextProducerId":"<decimal>"} advanced by CAS before a block is used
 *
 * A topic and its partitions are created (and deleted) in one transaction, so a watcher sees the
 * topic with all its partitions at once. Topic names cannot contain '/', so the prefixes do not
 * overlap.
 */

export const DEFAULT_ETCD_NAMESPACE = 'default'

export interface EtcdLocation {
  /** host:port of each etcd member. */
  endpoints: string[]
  namespace: string
}

/** Parses `etcd://host:port[,host:port...][/namespace]`. */
export function parseEtcdUrl (url: string): EtcdLocation {
  const m = /^etcd:\/\/([^/]+)(?:\/([A-Za-z0-9._-]+))?\/?$/.exec(url.trim())
  if (m === null) throw new Error(`Invalid etcd URL '${url}': expected etcd://host:port[,host:port...][/namespace]`)
  return { endpoints: m[1]!.split(',').map((e) => e.trim()).filter((e) => e !== ''), namespace: m[2] ?? DEFAULT_ETCD_NAMESPACE }
}

export class EtcdKeys {
  readonly prefix: string

  constructor (namespace: string) {
    this.prefix = `/samsa/${namespace}/`
  }

  get cluster (): string { return this.prefix + 'cluster' }
  get controller (): string { return this.prefix + 'controller' }
  get brokersPrefix (): string { return this.prefix + 'brokers/' }
  get topicsPrefix (): string { return this.prefix + 'topics/' }
  get partitionsPrefix (): string { return this.prefix + 'partitions/' }
  get clusterConfigs (): string { return this.prefix + 'configs/cluster' }
  get brokerConfigsPrefix (): string { return this.prefix + 'configs/brokers/' }
  get producerIds (): string { return this.prefix + 'producer-ids' }

  broker (nodeId: number): string { return this.brokersPrefix + String(nodeId) }
  topic (name: string): string { return this.topicsPrefix + name }
  partitionsOf (name: string): string { return `${this.partitionsPrefix}${name}/` }
  partition (name: string, index: number): string { return `${this.partitionsPrefix}${name}/${index}` }
  brokerConfigs (nodeId: number): string { return this.brokerConfigsPrefix + String(nodeId) }

  /** What a key under the prefix names. */
  parse (key: string): ParsedKey {
    if (!key.startsWith(this.prefix)) return { kind: 'other' }
    const rest = key.slice(this.prefix.length)
    if (rest === 'cluster') return { kind: 'cluster' }
    if (rest === 'controller') return { kind: 'controller' }
    if (rest === 'producer-ids') return { kind: 'producer-ids' }
    if (rest === 'configs/cluster') return { kind: 'cluster-configs' }
    let m = /^brokers\/(\d+)$/.exec(rest)
    if (m !== null) return { kind: 'broker', nodeId: Number(m[1]) }
    m = /^configs\/brokers\/(\d+)$/.exec(rest)
    if (m !== null) return { kind: 'broker-configs', nodeId: Number(m[1]) }
    m = /^topics\/([^/]+)$/.exec(rest)
    if (m !== null) return { kind: 'topic', name: m[1]! }
    m = /^partitions\/([^/]+)\/(\d+)$/.exec(rest)
    if (m !== null) return { kind: 'partition', name: m[1]!, index: Number(m[2]) }
    return { kind: 'other' }
  }
}

export type ParsedKey =
  | { kind: 'cluster' | 'controller' | 'producer-ids' | 'cluster-configs' | 'other' }
  | { kind: 'broker' | 'broker-configs', nodeId: number }
  | { kind: 'topic', name: string }
  | { kind: 'partition', name: string, index: number }

/** The JSON of `<P>/topics/<name>`. */
export interface TopicRecord {
  topicId: string
  partitions: number
  configs: Record<string, string>
}
