/**
 * The broker's configuration layer: Kafka's config model (names, types, defaults, validation
 * messages), the topic and broker config definitions with their synonyms, server.properties /
 * environment / command-line loading, DescribeConfigs and (Incremental)AlterConfigs support, and the
 * mapping to the storage engine's LogConfig.
 */
export {
  CONFIG_TYPES, type ConfigType, ConfigTypeCode, ConfigSource, Importance, type UpdateMode,
  LONG_MAX, LONG_MIN, LONG_MAX_STRING, LONG_MIN_STRING, INT_MAX, INT_MIN,
  Password, type ConfigValue, ConfigError, type Validator, type ConfigKey, type ConfigKeyInput, ConfigDef,
  parseType, convertToString, formatForMessage, javaDoubleToString, longToString, javaListToString,
  range, atLeast, between, validString, caseInsensitiveValidString, validList, custom
} from './config-def.ts'
export {
  TOPIC_CONFIG_DEF, TOPIC_CONFIG_SYNONYMS, COMPRESSION_TYPES, type ConfigSynonym, type SynonymUnit,
  serverSynonym, topicConfigForServerSynonym, synonymToTopicValue, topicConfigNames
} from './topic-configs.ts'
export {
  BROKER_CONFIG_DEF, BrokerConfigGroup, SECURITY_PROTOCOLS, isDynamicBrokerConfig, brokerConfigSynonyms
} from './broker-configs.ts'
export { type ListenerEndpoint, type SecurityProtocol, parseListeners, parseListenerSecurityProtocolMap } from './listeners.ts'
export {
  parseProperties, formatProperty, fromEnv, fromArgs, type ParsedArgs, envToConfigName, configNameToEnv, ENV_PREFIX
} from './properties.ts'
export {
  BrokerConfig, resolveBrokerConfig, type ResolveBrokerConfigOptions, type SuppliedFrom, type DynamicBrokerConfigs,
  effectiveTopicConfig, describeBrokerConfigs, type DescribeBrokerConfigsOptions, describeTopicConfigs,
  type DescribeTopicConfigsOptions, type DescribedConfig, type DescribedSynonym, validateTopicConfigs,
  type ValidateTopicConfigsOptions, AlterConfigOpType, type AlterConfigOperation, applyAlterConfigOps,
  incrementalAlterTopicConfigs, validateBrokerConfigUpdate
} from './broker-config.ts'
export { logConfigFrom, logConfigFromEffective } from './log-config-from.ts'
export { formatConfigHelp, type ConfigHelpOptions } from './help.ts'
