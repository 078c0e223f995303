import { KafkaInvalidArgumentError } from './errors.ts'

/** A broker endpoint. */
export interface BrokerAddress {
  host: string
  port: number
}

/**
 * Parses `host:port`, `[ipv6]:port` or `PLAINTEXT://host:port` (the listener prefix is
 * ignored, as in Kafka's `Utils.getHost`/`getPort`).
 */
export function parseBrokerAddress (text: string): BrokerAddress {
  const bare = text.trim().replace(/^[A-Za-z0-9_]+:\/\//, '')
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(bare)
  const port = match === null ? NaN : Number(match[3])
  if (match === null || port < 1 || port > 65535) {
    throw new KafkaInvalidArgumentError(`Invalid broker address '${text}': expected 'host:port'`)
  }
  return { host: match[1] ?? match[2]!, port }
}

/** `host:port`, with brackets around an IPv6 host (Kafka's `Utils.formatAddress`). */
export function formatBrokerAddress (address: BrokerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}
