import { ProtocolDecodeError } from '../primitives/errors.ts'
import { corruptCompressedData, DecompressionLimitError } from './errors.ts'
import { lazyNative } from './native.ts'

interface SnappyModule {
  compressSync: (input: Uint8Array, options: { copyOutputData: boolean }) => Buffer
  uncompressSync: (input: Uint8Array, options: { asBuffer: true, copyOutputData: boolean }) => Buffer
}

// Copying the output into a V8-allocated buffer measured 2.5-3.5× faster than the default
// external buffer (fresh native memory, page-faulted on every call).
const COPY = { copyOutputData: true }
const UNCOMPRESS = { asBuffer: true, copyOutputData: true } as const

const snappy = lazyNative<SnappyModule>('snappy')

/**
 * The stream header of xerial snappy-java's `SnappyOutputStream`, which the Java client and
 * broker write: magic (8 bytes), version int32, compatible-version int32.
 */
export const XERIAL_MAGIC: Buffer = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_SIZE = 16

/**
 * snappy (codec 2). Writes raw (block) snappy, as librdkafka does; snappy-java reads it too
 * (`SnappyInputStream` falls back to raw input when the xerial magic is absent).
 */
export function snappyCompress (data: Uint8Array): Buffer {
  return snappy().compressSync(data, COPY)
}

export function isXerialSnappy (data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_SIZE) return false
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false
  return true
}

/**
 * The uncompressed length a raw snappy block declares in its leading varint. The decoder
 * treats it as authoritative (it fails on a mismatch), so checking it bounds the output
 * before anything is allocated.
 */
export function snappyUncompressedLength (block: Uint8Array): number {
  let value = 0
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) break
    const byte = block[i]!
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) break
      return value
    }
  }
  throw new ProtocolDecodeError('Corrupt snappy data: invalid uncompressed length header', 0)
}

function uncompressBlock (block: Uint8Array): Buffer {
  try {
    return snappy().uncompressSync(block, UNCOMPRESS)
  } catch (cause) {
    throw corruptCompressedData('snappy', cause)
  }
}

/**
 * Decompresses raw snappy or the xerial framing (`[int32 length, raw block]…` after the
 * 16-byte header). Every block's declared length is summed and checked against `maxBytes`
 * before any block is decompressed.
 */
export function snappyDecompress (data: Uint8Array, maxBytes: number): Buffer {
  if (!isXerialSnappy(data)) {
    if (snappyUncompressedLength(data) > maxBytes) throw new DecompressionLimitError('snappy', maxBytes)
    return uncompressBlock(data)
  }
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  const blocks: Buffer[] = []
  let total = 0
  let at = XERIAL_HEADER_SIZE
  while (at < view.length) {
    if (at + 4 > view.length) throw new ProtocolDecodeError('Corrupt snappy data: truncated xerial block length', at)
    const length = view.readInt32BE(at)
    at += 4
    if (length < 0 || at + length > view.length) {
      throw new ProtocolDecodeError(`Corrupt snappy data: xerial block of ${length} bytes overruns the input`, at)
    }
    const block = view.subarray(at, at + length)
    at += length
    total += snappyUncompressedLength(block)
    if (total > maxBytes) throw new DecompressionLimitError('snappy', maxBytes)
    blocks.push(block)
  }
  if (blocks.length === 1) return uncompressBlock(blocks[0]!)
  const out = Buffer.allocUnsafe(total)
  let written = 0
  for (const block of blocks) {
    const part = uncompressBlock(block)
    part.copy(out, written)
    written += part.length
  }
  return out
}
