import { ProtocolEncodeError } from './errors.ts'
import { uuidToBuffer } from './uuid.ts'

/**
 * Byte fields at least this large are linked into the output as their own chunk instead of
 * being copied (record sets in Produce requests and Fetch responses).
 */
export const ZERO_COPY_THRESHOLD = 4096

/** Counts the bytes of large byte fields that will be linked rather than copied. */
export interface ZeroCopyCounter {
  bytes: number
}

/**
 * Encodes into one buffer allocated at the exact size the generated `size*` functions
 * predicted (Kafka's two-pass encoding), so there is no growing and no copy at the end.
 * Large byte fields become separate chunks: `finish()` returns the list of buffers to hand to
 * `socket.writev`/`cork`, never concatenated.
 */
export class Writer {
  readonly buffer: Buffer
  offset = 0
  #chunks: Buffer[] | null = null
  #chunkStart = 0

  /** `inlineSize` is the total size minus the bytes counted by a {@link ZeroCopyCounter}. */
  constructor (inlineSize: number) {
    this.buffer = Buffer.allocUnsafe(inlineSize)
  }

  writeInt8 (value: number): void {
    this.buffer.writeInt8(value, this.offset)
    this.offset += 1
  }

  writeUInt8 (value: number): void {
    this.buffer[this.offset++] = value
  }

  writeBool (value: boolean): void {
    this.buffer[this.offset++] = value ? 1 : 0
  }

  writeInt16 (value: number): void {
    this.buffer.writeInt16BE(value, this.offset)
    this.offset += 2
  }

  writeUInt16 (value: number): void {
    this.buffer.writeUInt16BE(value, this.offset)
    this.offset += 2
  }

  writeInt32 (value: number): void {
    this.buffer.writeInt32BE(value, this.offset)
    this.offset += 4
  }

  writeUInt32 (value: number): void {
    this.buffer.writeUInt32BE(value, this.offset)
    this.offset += 4
  }

  writeInt64 (value: bigint): void {
    this.buffer.writeBigInt64BE(value, this.offset)
    this.offset += 8
  }

  writeFloat64 (value: number): void {
    this.buffer.writeDoubleBE(value, this.offset)
    this.offset += 8
  }

  writeUnsignedVarInt (value: number): void {
    const buf = this.buffer
    let at = this.offset
    if (value < 0 || value > 0xffffffff || !Number.isInteger(value)) {
      throw new ProtocolEncodeError(`Unsigned varint ${value} is out of range`)
    }
    while (value >= 0x80) {
      buf[at++] = (value & 0x7f) | 0x80
      value = Math.floor(value / 128)
    }
    buf[at++] = value
    this.offset = at
  }

  writeVarInt (value: number): void {
    this.writeUnsignedVarInt(value >= 0 ? value * 2 : -value * 2 - 1)
  }

  writeVarLong (value: bigint): void {
    let raw = (value << 1n) ^ (value >> 63n)
    if (raw < 0n) raw += 1n << 64n
    const buf = this.buffer
    let at = this.offset
    while (raw >= 0x80n) {
      buf[at++] = Number(raw & 0x7fn) | 0x80
      raw >>= 7n
    }
    buf[at++] = Number(raw)
    this.offset = at
  }

  /** Zig-zag varlong from a safe-integer number (record timestamp deltas). */
  writeVarLongNumber (value: number): void {
    let raw = value >= 0 ? value * 2 : -value * 2 - 1
    const buf = this.buffer
    let at = this.offset
    while (raw >= 0x80) {
      buf[at++] = (raw % 128) | 0x80
      raw = Math.floor(raw / 128)
    }
    buf[at++] = raw
    this.offset = at
  }

  writeUuid (value: string): void {
    uuidToBuffer(value, this.buffer, this.offset)
    this.offset += 16
  }

  /** Copies `bytes` (no length prefix). */
  writeRaw (bytes: Uint8Array): void {
    this.buffer.set(bytes, this.offset)
    this.offset += bytes.length
  }

  /** Writes `bytes` by reference when large (see {@link ZERO_COPY_THRESHOLD}), else copies. */
  writeRawZeroCopy (bytes: Buffer): void {
    if (bytes.length < ZERO_COPY_THRESHOLD) {
      this.writeRaw(bytes)
      return
    }
    const chunks = this.#chunks ??= []
    if (this.offset > this.#chunkStart) chunks.push(this.buffer.subarray(this.#chunkStart, this.offset))
    chunks.push(bytes)
    this.#chunkStart = this.offset
  }

  /** UTF-8 text whose byte length the caller already wrote as a prefix. */
  writeUtf8 (value: string, byteLength: number): void {
    if (byteLength > 0) {
      this.buffer.write(value, this.offset, byteLength, 'utf8')
      this.offset += byteLength
    }
  }

  writeString (value: string): void {
    const length = Buffer.byteLength(value)
    if (length > 0x7fff) throw new ProtocolEncodeError(`String of ${length} bytes is longer than 32767`)
    this.writeInt16(length)
    this.writeUtf8(value, length)
  }

  writeNullableString (value: string | null): void {
    if (value === null) this.writeInt16(-1)
    else this.writeString(value)
  }

  writeCompactString (value: string): void {
    const length = Buffer.byteLength(value)
    this.writeUnsignedVarInt(length + 1)
    this.writeUtf8(value, length)
  }

  writeCompactNullableString (value: string | null): void {
    if (value === null) this.writeUInt8(0)
    else this.writeCompactString(value)
  }

  writeBytes (value: Buffer): void {
    this.writeInt32(value.length)
    this.writeRaw(value)
  }

  writeNullableBytes (value: Buffer | null): void {
    if (value === null) this.writeInt32(-1)
    else this.writeBytes(value)
  }

  writeCompactBytes (value: Buffer): void {
    this.writeUnsignedVarInt(value.length + 1)
    this.writeRaw(value)
  }

  writeCompactNullableBytes (value: Buffer | null): void {
    if (value === null) this.writeUInt8(0)
    else this.writeCompactBytes(value)
  }

  /**
   * The encoded message as a list of buffers whose lengths sum to the predicted size. Throws
   * if the bytes written differ from the size that was predicted (a generator bug).
   */
  finish (): Buffer[] {
    if (this.offset !== this.buffer.length) {
      throw new ProtocolEncodeError(`Encoded ${this.offset} bytes but ${this.buffer.length} were predicted`)
    }
    const chunks = this.#chunks
    if (chunks === null) return [this.buffer]
    if (this.offset > this.#chunkStart) chunks.push(this.buffer.subarray(this.#chunkStart, this.offset))
    return chunks
  }

  /** The encoded message as one buffer (concatenating only when large fields were linked). */
  toBuffer (): Buffer {
    const chunks = this.finish()
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  }
}

/** Bytes taken by an unsigned varint. */
export function sizeOfUnsignedVarInt (value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  return 5
}

export function sizeOfVarInt (value: number): number {
  return sizeOfUnsignedVarInt(value >= 0 ? value * 2 : -value * 2 - 1)
}

export function sizeOfVarLong (value: bigint): number {
  let raw = (value << 1n) ^ (value >> 63n)
  if (raw < 0n) raw += 1n << 64n
  let size = 1
  while (raw >= 0x80n) {
    raw >>= 7n
    size++
  }
  return size
}

export function sizeOfVarLongNumber (value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1
  let size = 1
  while (raw >= 0x80) {
    raw = Math.floor(raw / 128)
    size++
  }
  return size
}

export function sizeOfString (value: string): number {
  return 2 + Buffer.byteLength(value)
}

export function sizeOfNullableString (value: string | null): number {
  return value === null ? 2 : 2 + Buffer.byteLength(value)
}

export function sizeOfCompactString (value: string): number {
  const length = Buffer.byteLength(value)
  return sizeOfUnsignedVarInt(length + 1) + length
}

export function sizeOfCompactNullableString (value: string | null): number {
  return value === null ? 1 : sizeOfCompactString(value)
}

export function sizeOfBytes (value: Buffer): number {
  return 4 + value.length
}

export function sizeOfNullableBytes (value: Buffer | null): number {
  return value === null ? 4 : 4 + value.length
}

export function sizeOfCompactBytes (value: Buffer): number {
  return sizeOfUnsignedVarInt(value.length + 1) + value.length
}

export function sizeOfCompactNullableBytes (value: Buffer | null): number {
  return value === null ? 1 : sizeOfCompactBytes(value)
}
