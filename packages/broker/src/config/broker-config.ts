/**
 * The resolved broker configuration and the config operations the request handlers need:
 * DescribeConfigs for broker and topic resources (values, sources, synonyms in Kafka's order),
 * CreateTopics/AlterConfigs validation of topic configs, IncrementalAlterConfigs operations, and
 * AlterConfigs on a broker resource (only dynamic configs may change).
 *
 * Broker config layers, highest priority first, as in Kafka's DynamicBrokerConfig:
 * DYNAMIC_BROKER_CONFIG (set on this broker at runtime) > DYNAMIC_DEFAULT_BROKER_CONFIG (cluster-wide
 * runtime default) > STATIC_BROKER_CONFIG (file, environment, command line, overrides) > DEFAULT_CONFIG.
 * A topic config uses its own override, else the first of its broker synonyms that is set in any
 * layer, else the first synonym's built-in default (see TOPIC_CONFIG_SYNONYMS).
 */
import { readFileSync } from 'node:fs'
import { ErrorCode } from '@samsa/protocol'
import {
  type ConfigKey, type ConfigType, type ConfigValue, type ConfigDef, ConfigError, ConfigSource, ConfigTypeCode,
  LONG_MAX, convertToString, formatForMessage, setOwn
} from './config-def.ts'
import { BROKER_CONFIG_DEF, brokerConfigSynonyms, isDynamicBrokerConfig } from './broker-configs.ts'
import { TOPIC_CONFIG_DEF, TOPIC_CONFIG_SYNONYMS, serverSynonym, synonymToTopicValue, topicConfigNames } from './topic-configs.ts'
import { ENV_PREFIX, fromArgs, fromEnv, parseProperties } from './properties.ts'
import { type ListenerEndpoint, type SecurityProtocol, parseListenerSecurityProtocolMap, parseListeners } from './listeners.ts'

/** Broker configs changed at runtime through AlterConfigs / IncrementalAlterConfigs on a broker resource. */
export interface DynamicBrokerConfigs {
  /** This broker's dynamic configs (resource name = its id): source DYNAMIC_BROKER_CONFIG. */
  readonly broker?: Readonly<Record<string, string>>
  /** The cluster-wide dynamic defaults (resource name ""): source DYNAMIC_DEFAULT_BROKER_CONFIG. */
  readonly clusterDefault?: Readonly<Record<string, string>>
}

export type SuppliedFrom = 'file' | 'env' | 'args' | 'overrides'

export interface ResolveBrokerConfigOptions {
  /** Path of a server.properties file (read as UTF-8). `--config <file>` in `args` is used when absent. */
  readonly file?: string
  /** Properties already parsed, applied on top of `file` at the same (file) layer. */
  readonly properties?: Readonly<Record<string, string>>
  /** Environment; SAMSA_* variables become configs (see fromEnv). */
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly envPrefix?: string
  /** Command-line arguments (see fromArgs). */
  readonly args?: readonly string[]
  /** Programmatic overrides, the highest layer (testkit, embedding). */
  readonly overrides?: Readonly<Record<string, string | number | boolean>>
  /** Reads `file`; tests pass a fake. */
  readonly readFile?: (path: string) => string
}

const UNKNOWN_CONFIG = (name: string): string => `The configuration '${name}' was supplied but isn't a known config.`

/**
 * A resolved, validated, frozen broker configuration. `values` holds every defined broker config
 * (parsed; LONG "never" as Number.MAX_SAFE_INTEGER), keyed by Kafka's name.
 */
export class BrokerConfig {
  /** Every supported broker config, parsed. */
  readonly values: Readonly<Record<string, ConfigValue>>
  /** Everything supplied at startup, as strings (Kafka's "originals"), including unknown keys. */
  readonly originals: Readonly<Record<string, string>>
  /** Which layer each supplied key came from (the highest one that set it). */
  readonly suppliedFrom: Readonly<Record<string, SuppliedFrom>>
  /** Supplied keys that are not broker configs Samsa knows. */
  readonly unknownKeys: readonly string[]
  /** Messages to log at startup (Kafka logs unknown keys as warnings, not errors). */
  readonly warnings: readonly string[]
  /** `listeners`, parsed. */
  readonly listeners: readonly ListenerEndpoint[]
  /** `advertised.listeners`, or `listeners` when not set. */
  readonly advertisedListeners: readonly ListenerEndpoint[]
  readonly listenerSecurityProtocols: ReadonlyMap<string, SecurityProtocol>

  constructor (originals: Readonly<Record<string, string>>, suppliedFrom: Readonly<Record<string, SuppliedFrom>> = {}) {
    const supplied = populateIdSynonyms(originals)
    this.values = Object.freeze(BROKER_CONFIG_DEF.parse(supplied))
    const nodeId = this.values['node.id'] as number
    const brokerId = this.values['broker.id'] as number
    if (nodeId !== brokerId) throw new ConfigError('You must set `node.id` to the same value as `broker.id`.', { configName: 'node.id' })
    this.originals = Object.freeze({ ...originals })
    this.suppliedFrom = Object.freeze({ ...suppliedFrom })
    this.unknownKeys = Object.freeze(Object.keys(originals).filter((name) => !BROKER_CONFIG_DEF.has(name)))
    this.warnings = Object.freeze(this.unknownKeys.map(UNKNOWN_CONFIG))
    this.listenerSecurityProtocols = parseListenerSecurityProtocolMap(this.getString('listener.security.protocol.map') ?? '')
    this.listeners = Object.freeze(parseListeners(this.getString('listeners') ?? '', this.listenerSecurityProtocols, 'listeners'))
    const names = this.listeners.map((l) => l.name)
    if (new Set(names).size !== names.length) {
      throw new ConfigError(`Each listener must have a different name, listeners: ${this.getString('listeners') ?? ''}`, { configName: 'listeners' })
    }
    const advertised = this.getString('advertised.listeners')
    this.advertisedListeners = advertised === null
      ? this.listeners
      : Object.freeze(parseListeners(advertised, this.listenerSecurityProtocols, 'advertised.listeners'))
    // Kafka refuses 0.0.0.0 here because advertised.listeners defaults to listeners. Samsa
    // advertises the address each client connected to when advertised.listeners is unset,
    // so only an explicit advertised 0.0.0.0 is an error.
    if (advertised !== null && this.advertisedListeners.some((l) => l.host === '0.0.0.0')) {
      throw new ConfigError('advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.', { configName: 'advertised.listeners' })
    }
    Object.freeze(this)
  }

  get (name: string): ConfigValue {
    if (!Object.hasOwn(this.values, name)) throw new ConfigError(`Unknown broker configuration '${name}'.`, { configName: name })
    return this.values[name]!
  }

  /** True when `name` was supplied at startup (file, environment, command line or overrides). */
  isSupplied (name: string): boolean {
    return Object.hasOwn(this.originals, name)
  }

  #typed (name: string, types: readonly ConfigType[]): ConfigValue {
    const key = BROKER_CONFIG_DEF.key(name)
    if (key === undefined || !types.includes(key.type)) throw new Error(`${name} is not a ${types.join('/')} config`)
    return this.get(name)
  }

  getInt (name: string): number | null {
    return this.#typed(name, ['INT', 'SHORT']) as number | null
  }

  /** LONG values: Kafka's Long.MAX_VALUE reads as Number.MAX_SAFE_INTEGER. */
  getLong (name: string): number | null {
    return this.#typed(name, ['LONG']) as number | null
  }

  getDouble (name: string): number | null {
    return this.#typed(name, ['DOUBLE']) as number | null
  }

  getBoolean (name: string): boolean {
    return this.#typed(name, ['BOOLEAN']) as boolean
  }

  getString (name: string): string | null {
    return this.#typed(name, ['STRING', 'CLASS']) as string | null
  }

  getList (name: string): readonly string[] {
    return (this.#typed(name, ['LIST']) ?? []) as readonly string[]
  }

  /** node.id, else broker.id, else 0: a single Samsa node needs no id. */
  get nodeId (): number {
    const id = this.values['node.id'] as number
    return id >= 0 ? id : 0
  }

  /** `log.dirs` when set, else `log.dir`, split on commas (Kafka's KafkaConfig.logDirs). */
  get logDirs (): readonly string[] {
    const value = this.getString('log.dirs') ?? this.getString('log.dir') ?? ''
    return value.split(/\s*,\s*/).map((d) => d.trim()).filter((d) => d !== '')
  }

  get metadataStore (): string { return this.getString('metadata.store')! }
  get brokerRack (): string | null { return this.getString('broker.rack') }
  get numPartitions (): number { return this.getInt('num.partitions')! }
  get defaultReplicationFactor (): number { return this.getInt('default.replication.factor')! }
  get autoCreateTopicsEnable (): boolean { return this.getBoolean('auto.create.topics.enable') }
  get deleteTopicEnable (): boolean { return this.getBoolean('delete.topic.enable') }
  get messageMaxBytes (): number { return this.getInt('message.max.bytes')! }
  get socketRequestMaxBytes (): number { return this.getInt('socket.request.max.bytes')! }
  get connectionsMaxIdleMs (): number { return this.getLong('connections.max.idle.ms')! }
  get fetchMaxBytes (): number { return this.getInt('fetch.max.bytes')! }
  get replicaFetchMaxBytes (): number { return this.getInt('replica.fetch.max.bytes')! }
  get offsetsTopicNumPartitions (): number { return this.getInt('offsets.topic.num.partitions')! }
  /** Kafka's value (3 by default); the broker uses min(this, live brokers). */
  get offsetsTopicReplicationFactor (): number { return this.getInt('offsets.topic.replication.factor')! }
  get offsetsRetentionMs (): number { return this.getInt('offsets.retention.minutes')! * 60_000 }
  get groupInitialRebalanceDelayMs (): number { return this.getInt('group.initial.rebalance.delay.ms')! }
  get groupMinSessionTimeoutMs (): number { return this.getInt('group.min.session.timeout.ms')! }
  get groupMaxSessionTimeoutMs (): number { return this.getInt('group.max.session.timeout.ms')! }
  get transactionMaxTimeoutMs (): number { return this.getInt('transaction.max.timeout.ms')! }
  get transactionStateLogNumPartitions (): number { return this.getInt('transaction.state.log.num.partitions')! }
  /** Kafka's value (3 by default); the broker uses min(this, live brokers). */
  get transactionStateLogReplicationFactor (): number { return this.getInt('transaction.state.log.replication.factor')! }

  /** Every topic config's broker-level default (topic configs not overridden use these). */
  topicDefaults (dynamic?: DynamicBrokerConfigs): Record<string, ConfigValue> {
    const out: Record<string, ConfigValue> = {}
    for (const name of TOPIC_CONFIG_DEF.names()) out[name] = topicDefault(this, name, dynamic)
    return out
  }
}

/** KafkaConfig.populateSynonyms: broker.id and node.id stand in for each other when one is missing. */
function populateIdSynonyms (originals: Readonly<Record<string, string>>): Record<string, string> {
  const out = { ...originals }
  const brokerId = out['broker.id']
  const nodeId = out['node.id']
  if (brokerId === undefined && nodeId !== undefined) out['broker.id'] = nodeId
  else if (brokerId !== undefined && nodeId === undefined) out['node.id'] = brokerId
  return out
}

/**
 * Reads, merges and validates the broker configuration. Throws ConfigError for an invalid value;
 * unknown keys are kept and reported in `warnings`.
 */
export function resolveBrokerConfig (options: ResolveBrokerConfigOptions = {}): BrokerConfig {
  const merged: Record<string, string> = {}
  const from: Record<string, SuppliedFrom> = {}
  const apply = (layer: Readonly<Record<string, string>>, source: SuppliedFrom): void => {
    for (const [key, value] of Object.entries(layer)) {
      setOwn(merged, key, value)
      setOwn(from, key, source)
    }
  }
  const args = options.args === undefined ? undefined : fromArgs(options.args)
  const file = options.file ?? args?.configFile
  if (file !== undefined) {
    const read = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
    let text: string
    try {
      text = read(file)
    } catch (error) {
      throw new ConfigError(`Cannot read configuration file ${file}: ${(error as Error).message}`, { cause: error })
    }
    apply(parseProperties(text), 'file')
  }
  if (options.properties !== undefined) apply(options.properties, 'file')
  if (options.env !== undefined) apply(fromEnv(options.env, options.envPrefix ?? ENV_PREFIX), 'env')
  if (args !== undefined) apply(args.values, 'args')
  if (options.overrides !== undefined) {
    const overrides: Record<string, string> = {}
    for (const [key, value] of Object.entries(options.overrides)) setOwn(overrides, key, String(value))
    apply(overrides, 'overrides')
  }
  return new BrokerConfig(merged, from)
}

// ---------------------------------------------------------------------------------------------
// Layers

interface LayerValue {
  readonly raw: string
  readonly source: ConfigSource
}

/** The layers holding `name`, highest priority first (dynamic broker, dynamic default, static). */
function setLayers (config: BrokerConfig, name: string, dynamic: DynamicBrokerConfigs | undefined): LayerValue[] {
  const out: LayerValue[] = []
  const b = dynamic?.broker
  const d = dynamic?.clusterDefault
  if (b !== undefined && Object.hasOwn(b, name)) out.push({ raw: b[name]!, source: ConfigSource.DYNAMIC_BROKER_CONFIG })
  if (d !== undefined && Object.hasOwn(d, name)) out.push({ raw: d[name]!, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG })
  if (Object.hasOwn(config.originals, name)) out.push({ raw: config.originals[name]!, source: ConfigSource.STATIC_BROKER_CONFIG })
  return out
}

/** A broker config's current value: its highest set layer, else the parsed static value. */
function brokerValue (config: BrokerConfig, name: string, dynamic: DynamicBrokerConfigs | undefined): ConfigValue {
  const key = BROKER_CONFIG_DEF.key(name)
  if (key === undefined) return null
  const dynamicLayer = setLayers(config, name, dynamic).find((l) => l.source !== ConfigSource.STATIC_BROKER_CONFIG)
  if (dynamicLayer !== undefined) return BROKER_CONFIG_DEF.parseValue(name, dynamicLayer.raw)
  return config.values[name] ?? null
}

function isSetAnywhere (config: BrokerConfig, name: string, dynamic: DynamicBrokerConfigs | undefined): boolean {
  return setLayers(config, name, dynamic).length > 0 && brokerValue(config, name, dynamic) !== null
}

/** The broker-level default of one topic config, via its synonyms (KafkaConfig.extractLogConfigMap). */
function topicDefault (config: BrokerConfig, topicName: string, dynamic: DynamicBrokerConfigs | undefined): ConfigValue {
  const list = TOPIC_CONFIG_SYNONYMS.get(topicName)
  if (list === undefined) return TOPIC_CONFIG_DEF.key(topicName)!.default
  const chosen = list.find((s) => isSetAnywhere(config, s.name, dynamic)) ??
    list.find((s) => BROKER_CONFIG_DEF.key(s.name)?.default !== null)
  if (chosen === undefined) return TOPIC_CONFIG_DEF.key(topicName)!.default
  let value = synonymToTopicValue(brokerValue(config, chosen.name, dynamic), chosen.unit)
  // KafkaConfig.logRetentionTimeMillis: any negative retention means "no limit" (-1).
  if (topicName === 'retention.ms' && typeof value === 'number' && value < 0) value = -1
  if (typeof value === 'number' && value > LONG_MAX) value = LONG_MAX
  return value
}

/** The effective config of a topic: its overrides (validated) over the broker-level defaults. */
export function effectiveTopicConfig (
  topicOverrides: Readonly<Record<string, string>>, brokerConfig: BrokerConfig, dynamic?: DynamicBrokerConfigs
): Record<string, ConfigValue> {
  const out = brokerConfig.topicDefaults(dynamic)
  for (const [name, raw] of Object.entries(topicOverrides)) {
    if (TOPIC_CONFIG_DEF.has(name)) out[name] = TOPIC_CONFIG_DEF.parseValue(name, raw)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// DescribeConfigs

export interface DescribedSynonym {
  readonly name: string
  readonly value: string | null
  readonly source: ConfigSource
}

/** One DescribeConfigsResourceResult. */
export interface DescribedConfig {
  readonly name: string
  /** null for sensitive configs and for configs with no value. */
  readonly value: string | null
  readonly readOnly: boolean
  /** v0's IsDefault: configSource === DEFAULT_CONFIG. */
  readonly isDefault: boolean
  readonly configSource: ConfigSource
  readonly isSensitive: boolean
  /** Empty unless synonyms were requested. */
  readonly synonyms: readonly DescribedSynonym[]
  readonly configType: ConfigTypeCode
  /** null unless documentation was requested. */
  readonly documentation: string | null
}

function typeCode (key: ConfigKey | undefined): ConfigTypeCode {
  return key === undefined ? ConfigTypeCode.UNKNOWN : ConfigTypeCode[key.type]
}

/**
 * ConfigHelper.configSynonyms: every layer holding one of `names` - all dynamic-broker values first,
 * then dynamic-default, static, then built-in defaults that are not null - each layer in `names` order.
 */
function configSynonyms (
  config: BrokerConfig, names: readonly string[], sensitive: boolean, dynamic: DynamicBrokerConfigs | undefined
): DescribedSynonym[] {
  const out: DescribedSynonym[] = []
  const layers: Array<[Readonly<Record<string, string>> | undefined, ConfigSource]> = [
    [dynamic?.broker, ConfigSource.DYNAMIC_BROKER_CONFIG],
    [dynamic?.clusterDefault, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    [config.originals, ConfigSource.STATIC_BROKER_CONFIG]
  ]
  for (const [layer, source] of layers) {
    if (layer === undefined) continue
    for (const name of names) {
      if (Object.hasOwn(layer, name)) out.push({ name, value: sensitive ? null : layer[name]!, source })
    }
  }
  for (const name of names) {
    const key = BROKER_CONFIG_DEF.key(name)
    const value = key === undefined ? null : convertToString(key.default, key.type)
    if (value !== null) out.push({ name, value: sensitive ? null : value, source: ConfigSource.DEFAULT_CONFIG })
  }
  return out
}

function dropUntil (synonyms: readonly DescribedSynonym[], name: string): DescribedSynonym[] {
  const at = synonyms.findIndex((s) => s.name === name)
  return at === -1 ? [] : synonyms.slice(at)
}

function wanted (keys: readonly string[] | null | undefined): (name: string) => boolean {
  if (keys === undefined || keys === null || keys.length === 0) return () => true
  const set = new Set(keys)
  return (name) => set.has(name)
}

export interface DescribeBrokerConfigsOptions {
  readonly includeSynonyms?: boolean
  readonly includeDocumentation?: boolean
  readonly dynamic?: DynamicBrokerConfigs
  /**
   * false describes the cluster-default broker resource (resource name ""): only the dynamic
   * cluster-wide defaults, each with its DYNAMIC_DEFAULT_BROKER_CONFIG synonyms. Default true.
   */
  readonly perBroker?: boolean
}

/**
 * DescribeConfigs for a broker resource (ConfigHelper.createBrokerConfigEntry). `keys` null/empty means
 * all; unknown requested names are left out. Supplied keys Samsa does not know are described too, with
 * configType UNKNOWN, as Kafka does.
 */
export function describeBrokerConfigs (
  config: BrokerConfig, keys?: readonly string[] | null, options: DescribeBrokerConfigsOptions = {}
): DescribedConfig[] {
  const perBroker = options.perBroker ?? true
  const dynamic = options.dynamic
  const include = wanted(keys)
  const names = perBroker
    ? [...new Set([...BROKER_CONFIG_DEF.names(), ...Object.keys(config.originals), ...Object.keys(dynamic?.broker ?? {}), ...Object.keys(dynamic?.clusterDefault ?? {})])]
    : Object.keys(dynamic?.clusterDefault ?? {})
  const out: DescribedConfig[] = []
  for (const name of names.sort()) {
    if (!include(name)) continue
    const key = BROKER_CONFIG_DEF.key(name)
    const sensitive = key?.sensitive ?? false
    let value: string | null
    if (!perBroker) {
      value = dynamic?.clusterDefault?.[name] ?? null
      if (key !== undefined && value !== null) value = convertToString(BROKER_CONFIG_DEF.parseValue(name, value), key.type)
    } else if (key === undefined) {
      value = setLayers(config, name, dynamic)[0]?.raw ?? null
    } else {
      value = convertToString(brokerValue(config, name, dynamic), key.type)
    }
    let synonyms = dropUntil(configSynonyms(config, brokerConfigSynonyms(name), sensitive, dynamic), name)
    if (!perBroker) synonyms = synonyms.filter((s) => s.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    const configSource = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG
    out.push(Object.freeze({
      name,
      value: sensitive ? null : value,
      readOnly: !isDynamicBrokerConfig(name),
      isDefault: configSource === ConfigSource.DEFAULT_CONFIG,
      configSource,
      isSensitive: sensitive,
      synonyms: options.includeSynonyms === true ? Object.freeze(synonyms) : [],
      configType: typeCode(key),
      documentation: options.includeDocumentation === true ? (key?.documentation ?? null) : null
    }))
  }
  return out
}

export interface DescribeTopicConfigsOptions {
  readonly dynamic?: DynamicBrokerConfigs
  /**
   * Reproduce Kafka's ConfigHelper exactly: it keeps a topic config's broker synonyms only from the
   * first synonym's name on (`dropWhile(s => s.name != name)`), so a topic whose retention comes from
   * log.retention.hours alone reports source DEFAULT_CONFIG and no synonyms. Default false: Samsa
   * reports the synonym that supplied the value (STATIC_BROKER_CONFIG log.retention.hours).
   */
  readonly kafkaSynonymQuirk?: boolean
}

/**
 * DescribeConfigs for a topic resource (ConfigHelper.createTopicConfigEntry): every topic config with
 * its effective value; synonyms are the topic override (TOPIC_CONFIG) first, then the broker synonyms
 * that are set, layer by layer, then the non-null built-in defaults. Topic configs are never
 * read-only. Names come sorted (Kafka's order is a hash map's).
 */
export function describeTopicConfigs (
  topicOverrides: Readonly<Record<string, string>>,
  brokerConfig: BrokerConfig,
  keys?: readonly string[] | null,
  includeSynonyms = false,
  includeDocumentation = false,
  options: DescribeTopicConfigsOptions = {}
): DescribedConfig[] {
  const include = wanted(keys)
  const dynamic = options.dynamic
  const names = [...new Set([...topicConfigNames(), ...Object.keys(topicOverrides)])].sort()
  const out: DescribedConfig[] = []
  for (const name of names) {
    if (!include(name)) continue
    const key = TOPIC_CONFIG_DEF.key(name)
    const overridden = Object.hasOwn(topicOverrides, name)
    let value: string | null
    if (key === undefined) value = topicOverrides[name]!
    else {
      const typed = overridden ? TOPIC_CONFIG_DEF.parseValue(name, topicOverrides[name]!) : topicDefault(brokerConfig, name, dynamic)
      value = convertToString(typed, key.type)
    }
    const primary = serverSynonym(name)
    let synonyms: DescribedSynonym[] = []
    if (primary !== undefined) {
      const brokerNames = TOPIC_CONFIG_SYNONYMS.get(name)!.map((s) => s.name)
      synonyms = configSynonyms(brokerConfig, brokerNames, false, dynamic)
      if (options.kafkaSynonymQuirk === true) synonyms = dropUntil(synonyms, primary)
    }
    if (overridden) synonyms.unshift({ name, value, source: ConfigSource.TOPIC_CONFIG })
    const configSource = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG
    out.push(Object.freeze({
      name,
      value: key?.sensitive === true ? null : value,
      readOnly: false,
      isDefault: configSource === ConfigSource.DEFAULT_CONFIG,
      configSource,
      isSensitive: key?.sensitive ?? false,
      synonyms: includeSynonyms ? Object.freeze(synonyms) : [],
      configType: typeCode(key),
      documentation: includeDocumentation ? (key?.documentation ?? null) : null
    }))
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Topic config validation (CreateTopics, AlterConfigs, IncrementalAlterConfigs)

export interface ValidateTopicConfigsOptions {
  /** Supplies the broker-level defaults the overrides are combined with. */
  readonly brokerConfig?: BrokerConfig
  readonly dynamic?: DynamicBrokerConfigs
}

/**
 * Validates a topic's config overrides as Kafka's LogConfig.validate does and returns them parsed.
 * Errors are ConfigError with code INVALID_CONFIG: "Unknown topic config name: x", Kafka's
 * ConfigException wording for a bad value, the min/max compaction lag conflict, and
 * remote.storage.enable=true (Samsa has no tiered storage, which Kafka reports the same way when
 * remote.log.storage.system.enable is false, its default).
 */
export function validateTopicConfigs (
  configs: Readonly<Record<string, string>>, options: ValidateTopicConfigsOptions = {}
): Record<string, ConfigValue> {
  for (const name of Object.keys(configs)) {
    if (!TOPIC_CONFIG_DEF.has(name)) throw new ConfigError(`Unknown topic config name: ${name}`, { configName: name })
  }
  const parsed: Record<string, ConfigValue> = {}
  for (const [name, raw] of Object.entries(configs)) parsed[name] = TOPIC_CONFIG_DEF.parseValue(name, raw)
  const base = options.brokerConfig?.topicDefaults(options.dynamic) ?? TOPIC_CONFIG_DEF.parse({})
  const combined = { ...base, ...parsed }
  const minLag = combined['min.compaction.lag.ms'] as number
  const maxLag = combined['max.compaction.lag.ms'] as number
  if (minLag > maxLag) {
    throw new ConfigError(`conflict topic config setting min.compaction.lag.ms (${formatForMessage(minLag, 'LONG')}) > max.compaction.lag.ms (${formatForMessage(maxLag, 'LONG')})`)
  }
  if (combined['remote.storage.enable'] === true) {
    throw new ConfigError('Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.', { configName: 'remote.storage.enable' })
  }
  return parsed
}

// ---------------------------------------------------------------------------------------------
// IncrementalAlterConfigs

/** IncrementalAlterConfigs operation codes (AlterConfigOp.OpType). */
export const AlterConfigOpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const
export type AlterConfigOpType = typeof AlterConfigOpType[keyof typeof AlterConfigOpType]

export interface AlterConfigOperation {
  readonly name: string
  readonly op: number
  readonly value: string | null
}

const OP_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'] as const

/** Java's String.split(","): no match gives [s]; trailing empty strings are dropped. */
function javaSplitComma (text: string): string[] {
  if (!text.includes(',')) return [text]
  const parts = text.split(',')
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

/**
 * Applies IncrementalAlterConfigs operations to a resource's current overrides and returns the new
 * overrides (the caller validates them, e.g. with validateTopicConfigs). Follows Kafka's KRaft
 * controller (ConfigurationControlManager.incrementalAlterConfigResource): APPEND and SUBTRACT work
 * on LIST configs only - else INVALID_CONFIG "Can't APPEND to key x because its type is not LIST." -
 * starting from the current value or, when not set, the config's built-in default (not the broker's);
 * APPEND skips items already present, SUBTRACT removes the first occurrence of each item. A key given
 * twice is INVALID_REQUEST "Error due to duplicate config keys"; a null value outside DELETE is
 * INVALID_REQUEST "Null value not supported for : x".
 */
export function applyAlterConfigOps (
  current: Readonly<Record<string, string>>, ops: readonly AlterConfigOperation[], def: ConfigDef = TOPIC_CONFIG_DEF
): Record<string, string> {
  const names = ops.map((o) => o.name)
  if (new Set(names).size !== names.length) {
    throw new ConfigError('Error due to duplicate config keys', { errorCode: ErrorCode.INVALID_REQUEST })
  }
  const out: Record<string, string> = { ...current }
  for (const { name, op, value } of ops) {
    const opName = OP_NAMES[op]
    if (opName === undefined) throw new ConfigError(`Unknown operations type ${op}`, { errorCode: ErrorCode.INVALID_REQUEST, configName: name })
    if (opName === 'DELETE') {
      delete out[name]
      continue
    }
    if (value === null) throw new ConfigError(`Null value not supported for : ${name}`, { errorCode: ErrorCode.INVALID_REQUEST, configName: name })
    if (opName === 'SET') {
      setOwn(out, name, value)
      continue
    }
    const key = def.key(name)
    if (key === undefined || key.type !== 'LIST') {
      throw new ConfigError(`Can't ${opName} to key ${name} because its type is not LIST.`, { configName: name })
    }
    const old = Object.hasOwn(out, name) ? out[name]! : convertToString(key.default, 'LIST')
    const list = old === null ? [] : old.split(',').filter((part) => part !== '')
    for (const item of javaSplitComma(value)) {
      if (opName === 'APPEND') {
        if (!list.includes(item)) list.push(item)
      } else {
        const at = list.indexOf(item)
        if (at !== -1) list.splice(at, 1)
      }
    }
    setOwn(out, name, list.join(','))
  }
  return out
}

/** applyAlterConfigOps on a topic, then validateTopicConfigs on the result. */
export function incrementalAlterTopicConfigs (
  current: Readonly<Record<string, string>>, ops: readonly AlterConfigOperation[], options: ValidateTopicConfigsOptions = {}
): Record<string, string> {
  const next = applyAlterConfigOps(current, ops, TOPIC_CONFIG_DEF)
  validateTopicConfigs(next, options)
  return next
}

// ---------------------------------------------------------------------------------------------
// AlterConfigs on a broker resource

function scalaSet (names: readonly string[]): string {
  return `Set(${names.join(', ')})`
}

/**
 * Validates a dynamic broker config change as Kafka's DynamicBrokerConfig.validateConfigs does
 * (`perBroker`: the resource names a broker; false: the cluster-default resource ""). Null values are
 * deletions. Errors are INVALID_REQUEST (Kafka's ConfigAdminManager turns every failure here into an
 * InvalidRequestException, see KAFKA-13609): "Cannot update these configs dynamically: Set(log.dirs)",
 * "Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)",
 * or the ConfigException wording of a bad value. Keys Kafka does not know pass (custom configs are
 * allowed on brokers). Returns the parsed non-null values.
 */
export function validateBrokerConfigUpdate (
  updates: Readonly<Record<string, string | null>>, options: { readonly perBroker: boolean }
): Record<string, ConfigValue> {
  const invalidRequest = (message: string): ConfigError => new ConfigError(message, { errorCode: ErrorCode.INVALID_REQUEST })
  const names = Object.keys(updates)
  const nonDynamic = names.filter((n) => BROKER_CONFIG_DEF.has(n) && !isDynamicBrokerConfig(n))
  if (nonDynamic.length > 0) throw invalidRequest(`Cannot update these configs dynamically: ${scalaSet(nonDynamic)}`)
  const parsed: Record<string, ConfigValue> = {}
  for (const [name, raw] of Object.entries(updates)) {
    if (raw === null || !BROKER_CONFIG_DEF.has(name)) continue
    try {
      parsed[name] = BROKER_CONFIG_DEF.parseValue(name, raw)
    } catch (error) {
      throw invalidRequest((error as Error).message)
    }
  }
  if (!options.perBroker) {
    const perBrokerOnly = names.filter((n) => BROKER_CONFIG_DEF.key(n)?.updateMode === 'per-broker' || n.startsWith('listener.name.'))
    if (perBrokerOnly.length > 0) {
      throw invalidRequest(`Cannot update these configs at default cluster level, broker id must be specified: ${scalaSet(perBrokerOnly)}`)
    }
  }
  return parsed
}
