import { ConsumerProtocolSubscriptionMessage } from '../messages/consumer-protocol-subscription.ts'
import { Reader } from '../primitives/reader.ts'
import { type ConsumerTopicPartitions, type ConsumerTopicPartitionsInput, toCodecTopicPartitions } from './topic-partitions.ts'
import { encodeVersionPrefixed, readVersionPrefix, readVersionedBody } from './versioned.ts'

/**
 * A decoded "consumer" protocol subscription: the metadata a member sends in JoinGroup.
 * `userData` is a view into the decoded buffer; copy it to keep it longer.
 */
export interface ConsumerSubscription {
  /** The version in the prefix, as sent (a version above 3 was read as 3). */
  version: number
  topics: string[]
  userData: Buffer | null
  /** Version 1+ (KIP-429 cooperative rebalancing); empty before. */
  ownedPartitions: ConsumerTopicPartitions[]
  /** Version 2+; -1 before. */
  generationId: number
  /** Version 3+ (KIP-881); null before. */
  rackId: string | null
}

/** What {@link encodeSubscription} takes; fields the chosen version lacks are left out, as Kafka does. */
export interface ConsumerSubscriptionInput {
  readonly topics: readonly string[]
  readonly userData?: Buffer | null
  readonly ownedPartitions?: readonly ConsumerTopicPartitionsInput[]
  readonly generationId?: number
  readonly rackId?: string | null
}

/** Encodes a subscription as an int16 version and the ConsumerProtocolSubscription body of that version (0-3). */
export function encodeSubscription (sub: ConsumerSubscriptionInput, version: number): Buffer {
  return encodeVersionPrefixed(ConsumerProtocolSubscriptionMessage, {
    topics: sub.topics as string[],
    userData: sub.userData ?? null,
    ownedPartitions: toCodecTopicPartitions(sub.ownedPartitions ?? []),
    generationId: sub.generationId ?? -1,
    rackId: sub.rackId ?? null
  }, version, 'subscription')
}

/**
 * Decodes JoinGroup member metadata of protocol type "consumer". Throws ProtocolDecodeError on
 * malformed input, including an empty buffer and a negative version.
 */
export function decodeSubscription (buf: Buffer): ConsumerSubscription {
  const r = new Reader(buf)
  const version = readVersionPrefix(r, 'subscription')
  const m = readVersionedBody(ConsumerProtocolSubscriptionMessage, r, version)
  return {
    version,
    topics: m.topics,
    userData: m.userData,
    ownedPartitions: m.ownedPartitions,
    generationId: m.generationId,
    rackId: m.rackId
  }
}
