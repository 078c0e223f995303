import { ProtocolDecodeError } from './errors.ts'
import { uuidFromBuffer } from './uuid.ts'

/**
 * A bounds-checked cursor over one Buffer.
 *
 * Every read checks the remaining length first and throws {@link ProtocolDecodeError}
 * on underflow, so no other exception escapes. Bytes come back as zero-copy `subarray`
 * views (they keep the underlying buffer alive; copy them to keep them longer than the
 * request). Length and count fields are checked against the bytes that remain before
 * anything is allocated: a length claiming 2 GB in a 100-byte frame fails at once.
 */
export class Reader {
  readonly buffer: Buffer
  offset: number
  readonly end: number

  constructor (buffer: Buffer, offset = 0, end = buffer.length) {
    this.buffer = buffer
    this.offset = offset
    this.end = end
  }

  get remaining (): number {
    return this.end - this.offset
  }

  fail (message: string): never {
    throw new ProtocolDecodeError(message, this.offset)
  }

  #need (n: number): number {
    const at = this.offset
    if (at + n > this.end) {
      throw new ProtocolDecodeError(`Truncated input: need ${n} bytes at offset ${at}, have ${this.end - at}`, at)
    }
    this.offset = at + n
    return at
  }

  skip (n: number): void {
    if (n < 0) this.fail(`Invalid skip of ${n} bytes`)
    this.#need(n)
  }

  readInt8 (): number {
    return this.buffer.readInt8(this.#need(1))
  }

  readUInt8 (): number {
    return this.buffer[this.#need(1)]!
  }

  readBool (): boolean {
    return this.buffer[this.#need(1)] !== 0
  }

  readInt16 (): number {
    return this.buffer.readInt16BE(this.#need(2))
  }

  readUInt16 (): number {
    return this.buffer.readUInt16BE(this.#need(2))
  }

  readInt32 (): number {
    return this.buffer.readInt32BE(this.#need(4))
  }

  readUInt32 (): number {
    return this.buffer.readUInt32BE(this.#need(4))
  }

  readInt64 (): bigint {
    return this.buffer.readBigInt64BE(this.#need(8))
  }

  readFloat64 (): number {
    return this.buffer.readDoubleBE(this.#need(8))
  }

  /** Unsigned base-128 varint, at most 5 bytes (32 bits), as used for compact lengths and tags. */
  readUnsignedVarInt (): number {
    const buf = this.buffer
    let at = this.offset
    // Most varints (lengths, counts, tags) fit one byte.
    if (at < this.end) {
      const first = buf[at]!
      if (first < 0x80) {
        this.offset = at + 1
        return first
      }
    }
    let value = 0
    let shift = 0
    for (let i = 0; i < 5; i++) {
      if (at >= this.end) this.fail('Truncated varint')
      const byte = buf[at++]!
      if (i === 4 && byte > 0x0f) {
        this.offset = at
        this.fail('Unsigned varint is longer than 32 bits')
      }
      value += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) {
        this.offset = at
        return value
      }
      shift += 7
    }
    this.offset = at
    return this.fail('Unsigned varint is longer than 5 bytes')
  }

  /** Zig-zag signed varint (int32), as used inside records. */
  readVarInt (): number {
    const raw = this.readUnsignedVarInt()
    // raw < 2^32; zig-zag decode without 32-bit overflow.
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
  }

  /** Zig-zag signed varlong (int64), at most 10 bytes. */
  readVarLong (): bigint {
    const buf = this.buffer
    let value = 0n
    let shift = 0n
    let at = this.offset
    for (let i = 0; i < 10; i++) {
      if (at >= this.end) this.fail('Truncated varlong')
      const byte = buf[at++]!
      value |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) {
        this.offset = at
        return (value >> 1n) ^ -(value & 1n)
      }
      shift += 7n
    }
    this.offset = at
    return this.fail('Varlong is longer than 10 bytes')
  }

  /**
   * Zig-zag signed varlong read as a JS number: the fast path for record timestamp deltas.
   * Values outside ±2^53 are rejected rather than silently rounded.
   */
  readVarLongNumber (): number {
    const buf = this.buffer
    let raw = 0
    let mult = 1
    let at = this.offset
    for (let i = 0; i < 8; i++) {
      if (at >= this.end) this.fail('Truncated varlong')
      const byte = buf[at++]!
      raw += (byte & 0x7f) * mult
      if ((byte & 0x80) === 0) {
        this.offset = at
        if (raw > Number.MAX_SAFE_INTEGER) this.fail('Varlong does not fit a safe integer')
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
      }
      mult *= 128
    }
    this.offset = at
    return this.fail('Varlong does not fit a safe integer')
  }

  readUuid (): string {
    const at = this.#need(16)
    return uuidFromBuffer(this.buffer, at)
  }

  #utf8 (length: number): string {
    const at = this.#need(length)
    return this.buffer.toString('utf8', at, at + length)
  }

  /** STRING: int16 length then UTF-8; a negative length is an error. */
  readString (): string {
    const length = this.readInt16()
    if (length < 0) this.fail(`Non-nullable string has length ${length}`)
    return this.#utf8(length)
  }

  /** NULLABLE_STRING: int16 length, -1 is null. */
  readNullableString (): string | null {
    const length = this.readInt16()
    if (length === -1) return null
    if (length < 0) this.fail(`Invalid string length ${length}`)
    return this.#utf8(length)
  }

  /** COMPACT_STRING: unsigned varint length+1, then UTF-8; 0 (null) is an error. */
  readCompactString (): string {
    const lengthPlusOne = this.readUnsignedVarInt()
    if (lengthPlusOne === 0) this.fail('Non-nullable compact string is null')
    return this.#utf8(lengthPlusOne - 1)
  }

  readCompactNullableString (): string | null {
    const lengthPlusOne = this.readUnsignedVarInt()
    if (lengthPlusOne === 0) return null
    return this.#utf8(lengthPlusOne - 1)
  }

  /** A zero-copy view of the next `length` bytes. */
  readRaw (length: number): Buffer {
    if (length < 0) this.fail(`Invalid byte length ${length}`)
    const at = this.#need(length)
    return this.buffer.subarray(at, at + length)
  }

  /** BYTES: int32 length, then a zero-copy view. */
  readBytes (): Buffer {
    const length = this.readInt32()
    if (length < 0) this.fail(`Non-nullable bytes have length ${length}`)
    return this.readRaw(length)
  }

  readNullableBytes (): Buffer | null {
    const length = this.readInt32()
    if (length === -1) return null
    return this.readRaw(length)
  }

  readCompactBytes (): Buffer {
    const lengthPlusOne = this.readUnsignedVarInt()
    if (lengthPlusOne === 0) this.fail('Non-nullable compact bytes are null')
    return this.readRaw(lengthPlusOne - 1)
  }

  readCompactNullableBytes (): Buffer | null {
    const lengthPlusOne = this.readUnsignedVarInt()
    if (lengthPlusOne === 0) return null
    return this.readRaw(lengthPlusOne - 1)
  }

  /**
   * ARRAY count: int32, -1 is null (returned as -1). Every element takes at least
   * `minElementSize` bytes, so a count larger than the remaining input is rejected before
   * the caller allocates anything.
   */
  readArrayLength (minElementSize: number): number {
    const count = this.readInt32()
    if (count < -1) this.fail(`Invalid array length ${count}`)
    if (count > 0 && count * minElementSize > this.end - this.offset) {
      this.fail(`Array length ${count} exceeds the ${this.end - this.offset} bytes that remain`)
    }
    return count
  }

  /** COMPACT_ARRAY count: unsigned varint count+1, 0 is null (returned as -1). */
  readCompactArrayLength (minElementSize: number): number {
    const count = this.readUnsignedVarInt() - 1
    if (count > 0 && count * minElementSize > this.end - this.offset) {
      this.fail(`Array length ${count} exceeds the ${this.end - this.offset} bytes that remain`)
    }
    return count
  }

  /**
   * A reader over the next `length` bytes, advancing this one past them. Used for tagged
   * fields so a field cannot read beyond its declared size.
   */
  sub (length: number): Reader {
    if (length < 0) this.fail(`Invalid length ${length}`)
    const at = this.#need(length)
    return new Reader(this.buffer, at, at + length)
  }
}
