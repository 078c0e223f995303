/**
 * Version negotiation: a request goes out at the highest version that this client, the
 * broker (its ApiVersions answer) and the caller (an optional cap) all support. Like Kafka's
 * `NodeApiVersions.latestUsableVersion`, and unlike kafkajs, the broker's minimum counts too.
 */
import type { ApiDefinition } from '@samsa/protocol'
import { KafkaUnsupportedVersionError } from './errors.ts'

/** One API's version range as a broker advertises it. */
export interface ApiVersionRange {
  readonly minVersion: number
  readonly maxVersion: number
}

/** A broker's ApiVersions answer by API key. */
export type BrokerApiVersions = ReadonlyMap<number, ApiVersionRange>

/** Limits a caller puts on the version of one request. */
export interface VersionLimits {
  minVersion?: number | undefined
  maxVersion?: number | undefined
}

/**
 * The newest version this client speaks: the generated codec's maximum, except a version
 * Kafka marks unstable (`latestVersionUnstable`), which is not sent by default.
 */
export function clientMaxVersion (api: ApiDefinition<unknown, unknown>): number {
  return api.latestVersionUnstable ? api.maxVersion - 1 : api.maxVersion
}

/** The version to send, or throws KafkaUnsupportedVersionError naming both ranges. */
export function chooseVersion (api: ApiDefinition<unknown, unknown>, broker: BrokerApiVersions, limits: VersionLimits = {}): number {
  const range = broker.get(api.apiKey)
  if (range === undefined) {
    throw new KafkaUnsupportedVersionError(api.name, api.apiKey, `The broker does not support ${api.name} (API key ${api.apiKey})`)
  }
  const max = Math.min(clientMaxVersion(api), range.maxVersion, limits.maxVersion ?? Infinity)
  const min = Math.max(api.minVersion, range.minVersion, limits.minVersion ?? 0)
  if (max < min) {
    const wanted = limits.minVersion === undefined && limits.maxVersion === undefined
      ? `${api.minVersion}-${clientMaxVersion(api)}`
      : `${Math.max(api.minVersion, limits.minVersion ?? 0)}-${Math.min(clientMaxVersion(api), limits.maxVersion ?? Infinity)}`
    throw new KafkaUnsupportedVersionError(api.name, api.apiKey,
      `No common version of ${api.name}: the broker supports ${range.minVersion}-${range.maxVersion}, the client ${wanted}`)
  }
  return max
}

/** True when some version of the API can be used with the broker within `limits`. */
export function supportsApi (api: ApiDefinition<unknown, unknown>, broker: BrokerApiVersions, limits: VersionLimits = {}): boolean {
  try {
    chooseVersion(api, broker, limits)
    return true
  } catch {
    return false
  }
}
