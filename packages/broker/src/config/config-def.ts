/**
 * A small model of Kafka's `ConfigDef` (clients/.../common/config/ConfigDef.java): typed config
 * definitions, Kafka's string parsing rules (`ConfigDef.parseType`), its validators and the exact
 * wording of its `ConfigException` messages, which the broker returns to clients as the message of
 * INVALID_CONFIG (40) errors.
 *
 * LONG values are JS numbers. Kafka uses Long.MAX_VALUE (9223372036854775807) as "never" for many
 * defaults; it cannot be a JS number exactly, so every LONG at or above 2^53 is stored as
 * Number.MAX_SAFE_INTEGER ("max") and shown again as the exact string "9223372036854775807".
 * Symmetrically every LONG at or below -2^53 is stored as Number.MIN_SAFE_INTEGER and shown as
 * Long.MIN_VALUE. The consequence: a LONG config set to exactly 9007199254740991 reads back as
 * Long.MAX_VALUE, which no real config distinguishes from "never".
 */
import { ErrorCode } from '@samsa/protocol'

export const CONFIG_TYPES = ['BOOLEAN', 'STRING', 'INT', 'SHORT', 'LONG', 'DOUBLE', 'LIST', 'CLASS', 'PASSWORD'] as const
export type ConfigType = typeof CONFIG_TYPES[number]

/** DescribeConfigsResponse `ConfigType` codes (DescribeConfigsResponse.java `ConfigType`). */
export const ConfigTypeCode = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9
} as const
export type ConfigTypeCode = typeof ConfigTypeCode[keyof typeof ConfigTypeCode]

/**
 * DescribeConfigsResponse `ConfigSource` codes. 0-6 from Kafka's DescribeConfigsResponse.java; 7 and 8
 * (KIP-714 client metrics, KIP-848 group configs) as every 3.9+ client enumerates them. Kafka's wire
 * enum calls 1 `TOPIC_CONFIG`; the admin client calls it `DYNAMIC_TOPIC_CONFIG`: both names are here.
 */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 7,
  GROUP_CONFIG: 8
} as const
export type ConfigSource = typeof ConfigSource[keyof typeof ConfigSource]

export const Importance = { HIGH: 'HIGH', MEDIUM: 'MEDIUM', LOW: 'LOW' } as const
export type Importance = typeof Importance[keyof typeof Importance]

/** Long.MAX_VALUE as Kafka prints it, and its in-memory stand-in. */
export const LONG_MAX_STRING = '9223372036854775807'
export const LONG_MIN_STRING = '-9223372036854775808'
export const LONG_MAX = Number.MAX_SAFE_INTEGER
export const LONG_MIN = Number.MIN_SAFE_INTEGER
export const INT_MAX = 2147483647
export const INT_MIN = -2147483648

/** A sensitive value: never printed by accident (Kafka's `Password`, whose toString is "[hidden]"). */
export class Password {
  readonly #value: string
  constructor (value: string) {
    this.#value = value
  }

  value (): string {
    return this.#value
  }

  toString (): string {
    return '[hidden]'
  }

  toJSON (): string {
    return '[hidden]'
  }

  equals (other: unknown): boolean {
    return other instanceof Password && other.#value === this.#value
  }
}

export type ConfigValue = boolean | number | string | readonly string[] | Password | null

/**
 * A configuration error. `message` is Kafka's ConfigException (or InvalidConfigurationException /
 * InvalidRequestException) wording; `errorCode` is what the broker puts on the wire for it:
 * INVALID_CONFIG (40) unless a Kafka code path answers INVALID_REQUEST (42).
 */
export class ConfigError extends Error {
  readonly errorCode: number
  readonly configName: string | undefined
  constructor (message: string, options: { errorCode?: number, configName?: string, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'ConfigError'
    this.errorCode = options.errorCode ?? ErrorCode.INVALID_CONFIG
    this.configName = options.configName
  }

  /** Kafka's `new ConfigException(name, value, message)`. */
  static invalid (name: string, shownValue: string, message: string | null, errorCode?: number): ConfigError {
    const text = `Invalid value ${shownValue} for configuration ${name}${message === null ? '' : `: ${message}`}`
    return new ConfigError(text, errorCode === undefined ? { configName: name } : { configName: name, errorCode })
  }
}

/**
 * Sets an own, enumerable property even when the key is "__proto__": config keys come from files,
 * the environment and the network, and plain assignment of that key would replace the prototype.
 */
export function setOwn<T> (target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
}

// ---------------------------------------------------------------------------------------------
// Formatting values the way Java prints them

/** Java's Double.toString: "0.5", "2.0", "1.0E7", "1.7976931348623157E308", "NaN", "Infinity". */
export function javaDoubleToString (value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return 'Infinity'
  if (value === -Infinity) return '-Infinity'
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0'
  const abs = Math.abs(value)
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(value)
    return s.includes('.') ? s : `${s}.0`
  }
  // Both languages print the shortest round-tripping digits; only the notation differs.
  const [mantissa = '0', exponent = '0'] = value.toExponential().split('e')
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`
}

/** A LONG as Kafka shows it, with the Long.MAX_VALUE / MIN_VALUE stand-ins mapped back. */
export function longToString (value: number): string {
  if (value >= LONG_MAX) return LONG_MAX_STRING
  if (value <= LONG_MIN) return LONG_MIN_STRING
  return String(Math.trunc(value))
}

/** Java's List.toString, which Kafka prints when a whole list is the rejected value. */
export function javaListToString (list: readonly string[]): string {
  return `[${list.join(', ')}]`
}

/** How a parsed value appears inside "Invalid value X for configuration ..." messages. */
export function formatForMessage (value: ConfigValue, type: ConfigType | undefined): string {
  if (value === null) return 'null'
  if (value instanceof Password) return '[hidden]'
  if (Array.isArray(value)) return javaListToString(value as readonly string[])
  if (typeof value === 'number') {
    if (type === 'DOUBLE') return javaDoubleToString(value)
    if (type === 'LONG') return longToString(value)
    return Number.isInteger(value) ? String(value) : javaDoubleToString(value)
  }
  return String(value)
}

/** Kafka's `ConfigDef.convertToString`: the value DescribeConfigs reports. */
export function convertToString (value: ConfigValue, type: ConfigType): string | null {
  if (value === null) return null
  switch (type) {
    case 'LIST': return (value as readonly string[]).join(',')
    case 'PASSWORD': return value instanceof Password ? value.value() : String(value)
    case 'LONG': return longToString(value as number)
    case 'DOUBLE': return javaDoubleToString(value as number)
    case 'BOOLEAN':
    case 'INT':
    case 'SHORT':
    case 'STRING':
    case 'CLASS':
      return String(value)
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing (ConfigDef.parseType)

const INTEGER = /^[+-]?\d+$/
// Java's Double.parseDouble grammar minus hexadecimal floating-point literals.
const DOUBLE = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/
// ConfigDef.COMMA_WITH_WHITESPACE = "\\s*,\\s*", split with limit -1 (trailing empties kept).
const COMMA_WITH_WHITESPACE = /\s*,\s*/

function notANumber (name: string, raw: string, type: ConfigType): ConfigError {
  return ConfigError.invalid(name, raw, `Not a number of type ${type}`)
}

function parseInteger (name: string, raw: string, trimmed: string, type: ConfigType, min: bigint, max: bigint): bigint {
  if (!INTEGER.test(trimmed)) throw notANumber(name, raw, type)
  const value = BigInt(trimmed)
  if (value < min || value > max) throw notANumber(name, raw, type)
  return value
}

const LONG_MIN_BIG = -(2n ** 63n)
const LONG_MAX_BIG = 2n ** 63n - 1n
const SAFE_MAX_BIG = BigInt(Number.MAX_SAFE_INTEGER)

/** Java's String.trim: strips every char <= U+0020 at both ends. */
function javaTrim (text: string): string {
  let start = 0
  let end = text.length
  while (start < end && text.charCodeAt(start) <= 0x20) start++
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--
  return text.slice(start, end)
}

/**
 * Parses a raw string as Kafka's ConfigDef.parseType does: trims it first (Java String.trim), then
 * BOOLEAN true/false in any case; INT/SHORT/LONG as Java's parseInt/parseShort/parseLong (sign and
 * digits only, range-checked); DOUBLE as Double.parseDouble; LIST split on commas with surrounding
 * whitespace, an empty string giving []; PASSWORD wrapped; STRING and CLASS trimmed.
 */
export function parseType (name: string, raw: string, type: ConfigType): ConfigValue {
  const trimmed = javaTrim(raw)
  switch (type) {
    case 'BOOLEAN': {
      const lower = trimmed.toLowerCase()
      if (lower === 'true') return true
      if (lower === 'false') return false
      throw ConfigError.invalid(name, raw, 'Expected value to be either true or false')
    }
    case 'STRING':
    case 'CLASS':
      return trimmed
    case 'PASSWORD':
      return new Password(trimmed)
    case 'INT':
      return Number(parseInteger(name, raw, trimmed, type, BigInt(INT_MIN), BigInt(INT_MAX)))
    case 'SHORT':
      return Number(parseInteger(name, raw, trimmed, type, -32768n, 32767n))
    case 'LONG': {
      const value = parseInteger(name, raw, trimmed, type, LONG_MIN_BIG, LONG_MAX_BIG)
      if (value >= SAFE_MAX_BIG) return LONG_MAX
      if (value <= -SAFE_MAX_BIG) return LONG_MIN
      return Number(value)
    }
    case 'DOUBLE': {
      if (!DOUBLE.test(trimmed)) throw notANumber(name, raw, type)
      return Number(trimmed.replace(/[fFdD]$/, ''))
    }
    case 'LIST':
      return Object.freeze(trimmed === '' ? [] : trimmed.split(COMMA_WITH_WHITESPACE))
  }
}

// ---------------------------------------------------------------------------------------------
// Validators

export interface Validator {
  /** Throws ConfigError with Kafka's wording when `value` is not acceptable. */
  ensureValid (name: string, value: ConfigValue, type: ConfigType): void
  /** Kafka's `Validator.toString`, shown as "Valid Values" in docs and help. */
  readonly description: string
}

function numberBound (bound: number): string {
  return Number.isInteger(bound) ? String(bound) : javaDoubleToString(bound)
}

/** ConfigDef.Range: inclusive bounds, either side optional. */
export function range (min: number | null, max: number | null): Validator {
  const description = min === null && max === null
    ? '[...]'
    : min === null
      ? `[...,${numberBound(max!)}]`
      : max === null ? `[${numberBound(min)},...]` : `[${numberBound(min)},...,${numberBound(max)}]`
  return {
    description,
    ensureValid (name, value, type) {
      if (value === null) throw ConfigError.invalid(name, 'null', 'Value must be non-null')
      const n = value as number
      if (min !== null && n < min) throw ConfigError.invalid(name, formatForMessage(n, type), `Value must be at least ${numberBound(min)}`)
      if (max !== null && n > max) throw ConfigError.invalid(name, formatForMessage(n, type), `Value must be no more than ${numberBound(max)}`)
    }
  }
}

export function atLeast (min: number): Validator {
  return range(min, null)
}

export function between (min: number, max: number): Validator {
  return range(min, max)
}

/** ConfigDef.ValidString: exact, case-sensitive membership. */
export function validString (...valid: string[]): Validator {
  return {
    description: `[${valid.join(', ')}]`,
    ensureValid (name, value) {
      if (typeof value !== 'string' || !valid.includes(value)) {
        throw ConfigError.invalid(name, String(value), `String must be one of: ${valid.join(', ')}`)
      }
    }
  }
}

/** ConfigDef.CaseInsensitiveValidString. */
export function caseInsensitiveValidString (...valid: string[]): Validator {
  const upper = valid.map((v) => v.toUpperCase())
  return {
    description: `(case insensitive) [${valid.join(', ')}]`,
    ensureValid (name, value) {
      if (typeof value !== 'string' || !upper.includes(value.toUpperCase())) {
        throw ConfigError.invalid(name, String(value), `String must be one of (case insensitive): ${valid.join(', ')}`)
      }
    }
  }
}

/** ConfigDef.ValidList (Kafka 3.x): every item must be one of `valid`; the empty list is accepted. */
export function validList (...valid: string[]): Validator {
  const item = validString(...valid)
  return {
    description: item.description,
    ensureValid (name, value, type) {
      for (const entry of (value ?? []) as readonly string[]) item.ensureValid(name, entry, type)
    }
  }
}

/** A validator written inline: `check` throws ConfigError (see `ConfigError.invalid`). */
export function custom (description: string, check: (name: string, value: ConfigValue, type: ConfigType) => void): Validator {
  return { description, ensureValid: check }
}

// ---------------------------------------------------------------------------------------------
// Definitions

/** How a broker config may change at runtime (Kafka's DynamicBrokerConfig "Dynamic Update Mode"). */
export type UpdateMode = 'read-only' | 'per-broker' | 'cluster-wide'

export interface ConfigKey {
  /** Kafka's config name, verbatim. */
  readonly name: string
  readonly type: ConfigType
  /** The parsed default; null when Kafka's default is null (not set). */
  readonly default: ConfigValue
  /** One line, from Kafka's doc string. */
  readonly documentation: string
  readonly importance: Importance
  readonly validator: Validator | undefined
  /** PASSWORD values are never shown (DescribeConfigs reports null). */
  readonly sensitive: boolean
  /** Broker configs only. */
  readonly updateMode: UpdateMode
  /** A heading for `samsa start --help`. */
  readonly group: string | undefined
  /** How Samsa treats this config when it differs from Kafka (ignored, clamped, Samsa-only...). */
  readonly note: string | undefined
  /** Deprecated in Kafka (still accepted). */
  readonly deprecated: boolean
}

export interface ConfigKeyInput {
  readonly name: string
  readonly type: ConfigType
  /** Typed default, or a string parsed with `type` (e.g. a LONG as '9223372036854775807'); null = none. */
  readonly default: ConfigValue
  readonly documentation: string
  readonly importance: Importance
  readonly validator?: Validator
  readonly updateMode?: UpdateMode
  readonly group?: string
  readonly note?: string
  readonly deprecated?: boolean
}

export class ConfigDef {
  readonly #keys = new Map<string, ConfigKey>()

  define (input: ConfigKeyInput): this {
    if (this.#keys.has(input.name)) throw new Error(`Configuration ${input.name} is defined twice.`)
    let parsed = input.default
    if (typeof parsed === 'string' && input.type !== 'STRING' && input.type !== 'CLASS') {
      parsed = parseType(input.name, parsed, input.type)
    }
    // Kafka checks a definition's own default against its validator when defining it.
    if (parsed !== null && input.validator !== undefined) input.validator.ensureValid(input.name, parsed, input.type)
    this.#keys.set(input.name, Object.freeze({
      name: input.name,
      type: input.type,
      default: Array.isArray(parsed) ? Object.freeze([...parsed as readonly string[]]) : parsed,
      documentation: input.documentation,
      importance: input.importance,
      validator: input.validator,
      sensitive: input.type === 'PASSWORD',
      updateMode: input.updateMode ?? 'read-only',
      group: input.group,
      note: input.note,
      deprecated: input.deprecated ?? false
    }))
    return this
  }

  has (name: string): boolean {
    return this.#keys.has(name)
  }

  key (name: string): ConfigKey | undefined {
    return this.#keys.get(name)
  }

  /** Definition order. */
  names (): string[] {
    return [...this.#keys.keys()]
  }

  keys (): ConfigKey[] {
    return [...this.#keys.values()]
  }

  /** Parses and validates one raw value; a null raw value stands for "not set" and yields the default. */
  parseValue (name: string, raw: string | null): ConfigValue {
    const key = this.#keys.get(name)
    if (key === undefined) throw new ConfigError(`Unknown configuration '${name}'.`, { configName: name })
    const value = raw === null ? key.default : parseType(name, raw, key.type)
    if (key.validator !== undefined) {
      // Kafka validates defaults too; a null default only passes validators that accept null, and
      // Kafka's own null-default configs carry no validator.
      if (value !== null || raw !== null) key.validator.ensureValid(name, value, key.type)
    }
    return value
  }

  /** Every defined config, parsed from `props` where present, otherwise its default. */
  parse (props: Readonly<Record<string, string>>): Record<string, ConfigValue> {
    const out: Record<string, ConfigValue> = {}
    for (const key of this.#keys.values()) {
      out[key.name] = this.parseValue(key.name, Object.hasOwn(props, key.name) ? props[key.name]! : null)
    }
    return out
  }

  /** The default as DescribeConfigs shows it. */
  defaultString (name: string): string | null {
    const key = this.#keys.get(name)
    return key === undefined ? null : convertToString(key.default, key.type)
  }
}
