import { ProtocolDecodeError, ProtocolEncodeError } from '../primitives/errors.ts'
import { DecompressionLimitError } from './errors.ts'
import { gzipCompress, gzipDecompress } from './gzip.ts'
import { lz4Compress, lz4Decompress } from './lz4.ts'
import { snappyCompress, snappyDecompress } from './snappy.ts'
import { zstdCompress, zstdDecompress } from './zstd.ts'

/** Kafka's codec ids (`CompressionType.java`), stored in attribute bits 0-2. */
export const CompressionType = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const
export type CompressionType = typeof CompressionType[keyof typeof CompressionType]

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

export function isCompressionType (value: number): value is CompressionType {
  return Number.isInteger(value) && value >= 0 && value <= 4
}

/** The codec's name as Kafka's `compression.type` spells it ('none', 'gzip', ...). */
export function compressionName (type: CompressionType): typeof NAMES[number] {
  return NAMES[type]
}

/**
 * Compresses with the codec's Kafka-compatible framing (gzip member, raw snappy, LZ4 frame,
 * zstd frame). `level` applies to gzip and zstd and is ignored by the others.
 */
export function compress (type: CompressionType, data: Uint8Array, level?: number): Buffer {
  switch (type) {
    case CompressionType.none: return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    case CompressionType.gzip: return gzipCompress(data, level)
    case CompressionType.snappy: return snappyCompress(data)
    case CompressionType.lz4: return lz4Compress(data)
    case CompressionType.zstd: return zstdCompress(data, level)
    default: throw new ProtocolEncodeError(`Unknown compression type ${String(type)}`)
  }
}

/**
 * Decompresses `data`. Output larger than `maxBytes` fails with {@link DecompressionLimitError}
 * before more than about `maxBytes` is allocated; corrupt input fails with
 * {@link ProtocolDecodeError}. Nothing else is thrown for bad input.
 */
export function decompress (type: number, data: Uint8Array, maxBytes: number): Buffer {
  if (!(maxBytes >= 0)) throw new RangeError(`Invalid decompression limit ${maxBytes}`)
  switch (type) {
    case CompressionType.none:
      if (data.length > maxBytes) throw new DecompressionLimitError('uncompressed', maxBytes)
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    case CompressionType.gzip: return gzipDecompress(data, maxBytes)
    case CompressionType.snappy: return snappyDecompress(data, maxBytes)
    case CompressionType.lz4: return lz4Decompress(data, maxBytes)
    case CompressionType.zstd: return zstdDecompress(data, maxBytes)
    default: throw new ProtocolDecodeError(`Unknown compression type ${type}`, 0)
  }
}
