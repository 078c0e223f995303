/**
 * Kafka UUIDs (topic ids, directory ids) are 16 raw bytes on the wire. In memory Samsa keeps
 * them as lowercase 8-4-4-4-12 hex strings: cheap to compare and use as map keys.
 */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid (value: string): boolean {
  return UUID_PATTERN.test(value)
}

export function uuidFromBuffer (buffer: Buffer, offset: number): string {
  const hex = buffer.toString('hex', offset, offset + 16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Writes the 16 bytes of `uuid` at `offset`; the caller has validated its form. */
export function uuidToBuffer (uuid: string, buffer: Buffer, offset: number): void {
  const hex = uuid.length === 36
    ? uuid.slice(0, 8) + uuid.slice(9, 13) + uuid.slice(14, 18) + uuid.slice(19, 23) + uuid.slice(24)
    : uuid
  if (hex.length !== 32 || buffer.write(hex, offset, 16, 'hex') !== 16) {
    throw new TypeError(`Invalid UUID '${uuid}'`)
  }
}

/** Kafka's textual form (`Uuid.toString()`): URL-safe base64 without padding, as its CLI prints. */
export function uuidToKafkaString (uuid: string): string {
  const buffer = Buffer.allocUnsafe(16)
  uuidToBuffer(uuid, buffer, 0)
  return buffer.toString('base64url')
}

export function uuidFromKafkaString (text: string): string {
  const buffer = Buffer.from(text, 'base64url')
  if (buffer.length !== 16) throw new TypeError(`Invalid Kafka UUID '${text}'`)
  return uuidFromBuffer(buffer, 0)
}
