import type { MessageCodec } from '../api.ts'
import { ProtocolDecodeError, ProtocolEncodeError } from '../primitives/errors.ts'
import { Reader } from '../primitives/reader.ts'
import { Writer } from '../primitives/writer.ts'

/** The JoinGroup/SyncGroup protocol type whose metadata and assignment bytes these helpers read. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer'

/** Versions of ConsumerProtocolSubscription and ConsumerProtocolAssignment this package knows (non-flexible). */
export const CONSUMER_PROTOCOL_LOWEST_VERSION = 0
export const CONSUMER_PROTOCOL_HIGHEST_VERSION = 3

/**
 * Encodes `m` as an int16 version followed by the body of that version, the layout Kafka's
 * MessageUtil.toVersionPrefixedByteBuffer gives the consumer protocol.
 */
export function encodeVersionPrefixed<T> (codec: MessageCodec<T>, m: T, version: number, what: string): Buffer {
  if (!Number.isInteger(version) || version < CONSUMER_PROTOCOL_LOWEST_VERSION || version > CONSUMER_PROTOCOL_HIGHEST_VERSION) {
    throw new ProtocolEncodeError(`Consumer protocol ${what} version ${version} is not in ${CONSUMER_PROTOCOL_LOWEST_VERSION}-${CONSUMER_PROTOCOL_HIGHEST_VERSION}`)
  }
  const zc = { bytes: 0 }
  const size = 2 + codec.size(m, version, zc)
  const w = new Writer(size - zc.bytes)
  w.writeInt16(version)
  codec.write(w, m, version)
  return w.toBuffer()
}

/** Reads the int16 version prefix; a negative version is rejected, as Kafka's ConsumerProtocol does. */
export function readVersionPrefix (r: Reader, what: string): number {
  const version = r.readInt16()
  if (version < CONSUMER_PROTOCOL_LOWEST_VERSION) {
    throw new ProtocolDecodeError(`Unsupported consumer protocol ${what} version ${version}`, r.offset - 2)
  }
  return version
}

/**
 * Reads the body that follows a version prefix.
 *
 * A version above the highest known is read as the highest known, and bytes after the body are
 * ignored: Kafka's ConsumerProtocol (checkSubscriptionVersion/checkAssignmentVersion) does the same,
 * because later versions may only append fields.
 *
 * One leniency Kafka lacks: when the body is too short for its version but is exactly a complete
 * body of a lower version, that lower version is used and the later fields keep their defaults.
 * kafkajs writes subscriptions this way (a version 1 prefix on a version 0 body: no OwnedPartitions),
 * and Kafka's own parser rejects those bytes with a buffer underflow.
 */
export function readVersionedBody<T> (codec: MessageCodec<T>, r: Reader, version: number): T {
  const bodyVersion = Math.min(version, CONSUMER_PROTOCOL_HIGHEST_VERSION)
  const start = r.offset
  try {
    return codec.read(r, bodyVersion)
  } catch (err) {
    if (!(err instanceof ProtocolDecodeError)) throw err
    for (let lower = bodyVersion - 1; lower >= CONSUMER_PROTOCOL_LOWEST_VERSION; lower--) {
      const retry = new Reader(r.buffer, start, r.end)
      try {
        const m = codec.read(retry, lower)
        if (retry.remaining === 0) return m
      } catch (lowerErr) {
        if (!(lowerErr instanceof ProtocolDecodeError)) throw lowerErr
      }
    }
    throw err
  }
}
