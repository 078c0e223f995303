/**
 * `listeners`, `advertised.listeners` and `listener.security.protocol.map` parsing, following Kafka's
 * SocketServerConfigs.listenerListToEndPoints and KafkaConfig's protocol-map handling.
 */
import { ConfigError } from './config-def.ts'
import { SECURITY_PROTOCOLS } from './broker-configs.ts'

export type SecurityProtocol = typeof SECURITY_PROTOCOLS[number]

export interface ListenerEndpoint {
  /** Listener name, normalised to upper case (ListenerName.normalised). */
  readonly name: string
  /** null means every interface (Kafka stores an empty host as null). */
  readonly host: string | null
  readonly port: number
  readonly securityProtocol: SecurityProtocol
}

// SocketServerConfigs.URI_PARSE_REGEXP, which Kafka applies with Matcher.matches (a full match).
const URI_PARSE = /^(.*):\/\/\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$/

/** Csv.parseCsvList: split on commas with surrounding whitespace, dropping empty entries. */
function csv (text: string): string[] {
  return text.trim().split(/\s*,\s*/).filter((entry) => entry !== '')
}

/** listener.security.protocol.map: "NAME:PROTOCOL,..." with names upper-cased. */
export function parseListenerSecurityProtocolMap (value: string, configName = 'listener.security.protocol.map'): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>()
  for (const entry of csv(value)) {
    const colon = entry.lastIndexOf(':')
    if (colon <= 0) throw ConfigError.invalid(configName, value, `Malformed entry '${entry}', expected NAME:PROTOCOL`)
    const name = entry.slice(0, colon).trim().toUpperCase()
    const protocol = entry.slice(colon + 1).trim().toUpperCase()
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw new ConfigError(`Invalid security protocol \`${entry.slice(colon + 1).trim()}\` defined in ${configName}`, { configName })
    }
    map.set(name, protocol as SecurityProtocol)
  }
  return map
}

/** A listener list ("PLAINTEXT://127.0.0.1:9092,SSL://:9093") as endpoints. */
export function parseListeners (value: string, protocols: ReadonlyMap<string, SecurityProtocol>, configName = 'listeners'): ListenerEndpoint[] {
  const endpoints: ListenerEndpoint[] = []
  for (const entry of csv(value)) {
    const match = URI_PARSE.exec(entry)
    if (match === null) throw new ConfigError(`Unable to parse ${entry} to a broker endpoint`, { configName })
    const name = match[1]!.toUpperCase()
    const securityProtocol = protocols.get(name)
    if (securityProtocol === undefined) throw new ConfigError(`No security protocol defined for listener ${name}`, { configName })
    const host = match[2]!
    endpoints.push(Object.freeze({ name, host: host === '' ? null : host, port: Number(match[3]), securityProtocol }))
  }
  return endpoints
}
