import { ProtocolDecodeError } from '../primitives/errors.ts'
import { corruptCompressedData, DecompressionLimitError } from './errors.ts'
import { lazyNative } from './native.ts'
import { xxhash32 } from './xxhash32.ts'

interface Lz4Module {
  /** lz4_flex `compress_prepend_size`: [uint32 LE uncompressed size][LZ4 block]. */
  compressSync: (data: Uint8Array) => Buffer
  /** lz4_flex `decompress_size_prepended(_with_dict)`: the prefix is the output capacity. */
  uncompressSync: (data: Uint8Array, dict?: Uint8Array) => Buffer
}

const lz4 = lazyNative<Lz4Module>('lz4-napi')

function nativeOrNull (): Lz4Module | null {
  try {
    return lz4()
  } catch {
    return null
  }
}

/*
 * lz4 (codec 3): the LZ4 *frame* format, as Kafka's `KafkaLZ4BlockOutputStream` and librdkafka
 * write it.
 *
 * Frames are assembled here around lz4-napi's block codec rather than with its frame API,
 * which measured 2-3× slower (bench/compression.bench.ts). Decompression parses the frame
 * header and walks the block headers in JS first, which yields the content size (if
 * declared) and an upper bound on the output before anything is inflated; blocks are then
 * inflated one at a time (each bounded by the frame's block maximum, 64 KB to 4 MB) and the
 * running total is checked against the limit, so a bomb costs at most the limit plus one
 * block. The header check accepts the checksum Kafka's magic-0 writer computed wrongly over
 * the magic bytes too (KAFKA-3160). When lz4-napi cannot be loaded, a pure-JS block decoder
 * does the same job more slowly.
 */

// What Kafka's Java writer emits: independent blocks of at most 64 KB, no checksums.
const FRAME_HEADER = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82])
const BLOCK_SIZE = 64 * 1024
const END_MARK = Buffer.alloc(4)

/** Compresses into one LZ4 frame of independent 64 KB blocks (stored raw when incompressible). */
export function lz4Compress (data: Uint8Array): Buffer {
  const codec = lz4()
  const parts: Uint8Array[] = [FRAME_HEADER]
  let total = FRAME_HEADER.length + 4
  for (let at = 0; at < data.length; at += BLOCK_SIZE) {
    const chunk = data.subarray(at, Math.min(data.length, at + BLOCK_SIZE))
    const block = codec.compressSync(chunk)
    if (block.readUInt32LE(0) !== chunk.length) throw new Error('lz4-napi returned an unexpected block layout')
    const compressedSize = block.length - 4
    if (compressedSize < chunk.length) {
      block.writeUInt32LE(compressedSize, 0)
      parts.push(block)
      total += block.length
    } else {
      // Incompressible: store the block as is (high bit of the size set).
      const size = Buffer.allocUnsafe(4)
      size.writeUInt32LE((chunk.length | 0x80000000) >>> 0, 0)
      parts.push(size, chunk)
      total += 4 + chunk.length
    }
  }
  parts.push(END_MARK)
  return Buffer.concat(parts, total)
}

const MAGIC = 0x184d2204
const BLOCK_MAX_SIZES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024]

const FLG_BLOCK_INDEPENDENT = 0x20
const FLG_BLOCK_CHECKSUM = 0x10
const FLG_CONTENT_SIZE = 0x08
const FLG_CONTENT_CHECKSUM = 0x04
const FLG_DICT_ID = 0x01

/** What the JS pass learnt about a frame without inflating it. */
export interface Lz4FrameInfo {
  blockIndependent: boolean
  blockChecksum: boolean
  contentChecksum: boolean
  blockMaxSize: number
  /** The declared content size, or -1 when the frame does not declare one. */
  contentSize: number
  /** True when the header checksum is the KAFKA-3160 one (computed over the magic as well). */
  brokenHeaderChecksum: boolean
  /** Position of the header checksum byte. */
  headerChecksumAt: number
  /** Position of the first block. */
  dataStart: number
  /** Position just past the frame (end mark and content checksum). */
  frameEnd: number
  /** An upper bound on the decompressed size, from the block headers. */
  maxOutput: number
}

function corrupt (message: string, at: number): never {
  throw new ProtocolDecodeError(`Corrupt lz4 data: ${message}`, at)
}

/** Parses the frame header and walks the block headers (no decompression). */
export function inspectLz4Frame (b: Uint8Array): Lz4FrameInfo {
  if (b.length < 7) corrupt('frame shorter than its header', 0)
  const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0
  if (magic !== MAGIC) corrupt(`bad frame magic 0x${magic.toString(16)}`, 0)
  const flg = b[4]!
  const bd = b[5]!
  if ((flg >>> 6) !== 1) corrupt(`unsupported frame version ${flg >>> 6}`, 4)
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) corrupt('reserved descriptor bits are set', 4)
  if ((flg & FLG_DICT_ID) !== 0) corrupt('frames with a dictionary id are not supported', 4)
  const blockMaxSize = BLOCK_MAX_SIZES[(bd >>> 4) & 7]!
  if (blockMaxSize === 0) corrupt(`invalid block maximum size id ${(bd >>> 4) & 7}`, 5)
  let at = 6
  let contentSize = -1
  if ((flg & FLG_CONTENT_SIZE) !== 0) {
    if (b.length < at + 9) corrupt('truncated frame header', at)
    const lo = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
    const hi = (b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24)) >>> 0
    // Beyond 2^53 is far past any limit; saturate rather than lose precision.
    contentSize = hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + lo
    at += 8
  }
  const headerChecksumAt = at
  const hc = b[at]!
  const expected = (xxhash32(b, 4, at) >>> 8) & 0xff
  let brokenHeaderChecksum = false
  if (hc !== expected) {
    if (hc !== ((xxhash32(b, 0, at) >>> 8) & 0xff)) corrupt('header checksum mismatch', at)
    brokenHeaderChecksum = true
  }
  at++
  const dataStart = at
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0
  let maxOutput = 0
  for (;;) {
    if (at + 4 > b.length) corrupt('truncated block header (missing end mark)', at)
    const word = (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
    at += 4
    if (word === 0) break
    const size = word & 0x7fffffff
    if (size > blockMaxSize) corrupt(`block of ${size} bytes exceeds the frame maximum ${blockMaxSize}`, at - 4)
    at += size + (blockChecksum ? 4 : 0)
    if (at > b.length) corrupt('truncated block', b.length)
    maxOutput += (word & 0x80000000) !== 0 ? size : blockMaxSize
  }
  const contentChecksum = (flg & FLG_CONTENT_CHECKSUM) !== 0
  if (contentChecksum) at += 4
  if (at > b.length) corrupt('truncated content checksum', b.length)
  if (contentSize >= 0 && contentSize < maxOutput) maxOutput = contentSize
  return {
    blockIndependent: (flg & FLG_BLOCK_INDEPENDENT) !== 0,
    blockChecksum,
    contentChecksum,
    blockMaxSize,
    contentSize,
    brokenHeaderChecksum,
    headerChecksumAt,
    dataStart,
    frameEnd: at,
    maxOutput
  }
}

/**
 * Decompresses one LZ4 frame (bytes after it are ignored, as Kafka's reader does), failing
 * with {@link DecompressionLimitError} when the output would pass `maxBytes`. `native: false`
 * forces the pure-JS block decoder.
 */
export function lz4Decompress (data: Uint8Array, maxBytes: number, options: { native?: boolean } = {}): Buffer {
  const info = inspectLz4Frame(data)
  if (info.contentSize > maxBytes) throw new DecompressionLimitError('lz4', maxBytes)
  const native = options.native === false ? null : nativeOrNull()
  const out = native === null ? decodeFrameJs(data, info, maxBytes) : decodeFrameNative(native, data, info, maxBytes)
  if (info.contentChecksum && xxhash32(out) !== readU32LE(data, info.frameEnd - 4)) corrupt('content checksum mismatch', info.frameEnd - 4)
  if (info.contentSize >= 0 && out.length !== info.contentSize) corrupt(`content size ${info.contentSize} declared, ${out.length} decoded`, 0)
  return out
}

const WINDOW = 64 * 1024

/** Native path: each block inflated by lz4-napi into its own buffer, then joined. */
function decodeFrameNative (codec: Lz4Module, src: Uint8Array, info: Lz4FrameInfo, maxBytes: number): Buffer {
  const parts: Buffer[] = []
  let total = 0
  let at = info.dataStart
  for (;;) {
    const word = readU32LE(src, at)
    at += 4
    if (word === 0) break
    const size = word & 0x7fffffff
    const blockEnd = at + size
    if (info.blockChecksum && xxhash32(src, at, blockEnd) !== readU32LE(src, blockEnd)) corrupt('block checksum mismatch', at)
    let part: Buffer
    if ((word & 0x80000000) !== 0) {
      part = Buffer.from(src.subarray(at, blockEnd))
    } else {
      // The size prefix is the output capacity: one block can never exceed the frame maximum.
      const input = Buffer.allocUnsafe(4 + size)
      input.writeUInt32LE(info.blockMaxSize, 0)
      input.set(src.subarray(at, blockEnd), 4)
      try {
        part = info.blockIndependent || total === 0 ? codec.uncompressSync(input) : codec.uncompressSync(input, lastBytes(parts, WINDOW))
      } catch (cause) {
        throw corruptCompressedData('lz4', cause)
      }
    }
    total += part.length
    if (total > maxBytes) throw new DecompressionLimitError('lz4', maxBytes)
    parts.push(part)
    at = blockEnd + (info.blockChecksum ? 4 : 0)
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total)
}

/** The last `n` bytes of the output so far: the dictionary for a linked block. */
function lastBytes (parts: Buffer[], n: number): Buffer {
  const last = parts[parts.length - 1]!
  if (last.length >= n || parts.length === 1) return last.subarray(Math.max(0, last.length - n))
  const tail: Buffer[] = []
  let have = 0
  for (let i = parts.length - 1; i >= 0 && have < n; i--) {
    tail.unshift(parts[i]!)
    have += parts[i]!.length
  }
  const joined = Buffer.concat(tail, have)
  return joined.subarray(Math.max(0, have - n))
}

/** The pure-JS path: block by block into a buffer that grows up to `maxBytes`. */
function decodeFrameJs (src: Uint8Array, info: Lz4FrameInfo, maxBytes: number): Buffer {
  let dst = Buffer.allocUnsafe(Math.min(maxBytes, info.contentSize >= 0 ? info.contentSize : info.blockMaxSize))
  let d = 0
  let at = info.dataStart
  for (;;) {
    const word = readU32LE(src, at)
    at += 4
    if (word === 0) break
    const size = word & 0x7fffffff
    const blockEnd = at + size
    if (info.blockChecksum && xxhash32(src, at, blockEnd) !== readU32LE(src, blockEnd)) corrupt('block checksum mismatch', at)
    // Room for this block's largest possible output, capped by the limit.
    const need = d + ((word & 0x80000000) !== 0 ? size : info.blockMaxSize)
    if (need > dst.length) {
      const grown = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(need, dst.length * 2)))
      dst.copy(grown, 0, 0, d)
      dst = grown
    }
    const blockStart = d
    if ((word & 0x80000000) !== 0) {
      if (d + size > maxBytes) throw new DecompressionLimitError('lz4', maxBytes)
      dst.set(src.subarray(at, blockEnd), d)
      d += size
    } else {
      d = decodeBlock(src, at, blockEnd, dst, d, info.blockIndependent ? blockStart : 0, Math.min(dst.length, blockStart + info.blockMaxSize), maxBytes)
    }
    at = blockEnd + (info.blockChecksum ? 4 : 0)
  }
  return dst.subarray(0, d)
}

function readU32LE (b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
}

/**
 * Decodes one LZ4 block `src[s, sEnd)` into `dst` at `d`; returns the new end of output.
 * Matches may reach back to `windowStart`; output may not pass `dEnd` (the block maximum or
 * the buffer, whichever is smaller): when `dEnd` is the limit the error says so.
 */
function decodeBlock (src: Uint8Array, s: number, sEnd: number, dst: Buffer, d: number, windowStart: number, dEnd: number, maxBytes: number): number {
  const overflow = (): never => {
    if (dEnd >= maxBytes) throw new DecompressionLimitError('lz4', maxBytes)
    return corrupt('block decodes beyond the block maximum size', s)
  }
  while (s < sEnd) {
    const token = src[s++]!
    let literals = token >>> 4
    if (literals === 15) {
      let byte: number
      do {
        if (s >= sEnd) corrupt('truncated literal length', s)
        byte = src[s++]!
        literals += byte
      } while (byte === 255)
    }
    if (s + literals > sEnd) corrupt('literals overrun the block', s)
    if (d + literals > dEnd) overflow()
    if (literals < 16) {
      for (let i = 0; i < literals; i++) dst[d + i] = src[s + i]!
    } else {
      dst.set(src.subarray(s, s + literals), d)
    }
    s += literals
    d += literals
    if (s === sEnd) break // the last sequence has literals only
    if (s + 2 > sEnd) corrupt('truncated match offset', s)
    const offset = src[s]! | (src[s + 1]! << 8)
    s += 2
    if (offset === 0 || offset > d - windowStart) corrupt(`match offset ${offset} reaches before the window`, s - 2)
    let length = (token & 15) + 4
    if ((token & 15) === 15) {
      let byte: number
      do {
        if (s >= sEnd) corrupt('truncated match length', s)
        byte = src[s++]!
        length += byte
      } while (byte === 255)
    }
    if (d + length > dEnd) overflow()
    let from = d - offset
    if (offset >= length && length > 32) {
      dst.copyWithin(d, from, from + length)
      d += length
    } else {
      // Overlapping copies repeat the pattern, so they go byte by byte.
      const end = d + length
      while (d < end) dst[d++] = dst[from++]!
    }
  }
  return d
}
