/** The primitives generated codecs and hand-written formats are built from. */
export { ProtocolDecodeError, ProtocolEncodeError } from './errors.ts'
export { Reader } from './reader.ts'
export {
  Writer, ZERO_COPY_THRESHOLD, type ZeroCopyCounter,
  sizeOfUnsignedVarInt, sizeOfVarInt, sizeOfVarLong, sizeOfVarLongNumber,
  sizeOfString, sizeOfNullableString, sizeOfCompactString, sizeOfCompactNullableString,
  sizeOfBytes, sizeOfNullableBytes, sizeOfCompactBytes, sizeOfCompactNullableBytes
} from './writer.ts'
export { type TaggedField, keepTaggedField, writeTaggedField } from './tagged-fields.ts'
export { ZERO_UUID, isUuid, uuidFromBuffer, uuidToBuffer, uuidToKafkaString, uuidFromKafkaString } from './uuid.ts'

/** A shared empty buffer for byte fields at their default. Never write into it. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0)

/** A counter for sizes computed only to write a length prefix (tagged fields), never read. */
export const NO_ZERO_COPY = { bytes: 0 }
