import { constants } from 'node:buffer'
import { gunzipSync, gzipSync } from 'node:zlib'
import { corruptCompressedData, DecompressionLimitError } from './errors.ts'

/** gzip (codec 1). Kafka's Java client writes with `GZIPOutputStream` (deflate level 6 by default). */
export function gzipCompress (data: Uint8Array, level?: number): Buffer {
  return gzipSync(data, level === undefined ? undefined : { level })
}

/**
 * Inflates `data`, failing with {@link DecompressionLimitError} as soon as the output passes
 * `maxBytes`: zlib's `maxOutputLength` stops inflating at the limit, so a bomb costs at most
 * `maxBytes` of memory and the time to inflate that much. Concatenated gzip members (which
 * `GZIPInputStream` reads) are supported; truncated input is an error (Z_FINISH semantics).
 */
export function gzipDecompress (data: Uint8Array, maxBytes: number): Buffer {
  try {
    // maxOutputLength must be within [1, buffer.constants.MAX_LENGTH]; a limit of 0 is checked below.
    const out = gunzipSync(data, { maxOutputLength: Math.min(constants.MAX_LENGTH, Math.max(1, maxBytes)) })
    if (out.length > maxBytes) throw new DecompressionLimitError('gzip', maxBytes)
    return out
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new DecompressionLimitError('gzip', maxBytes)
    throw corruptCompressedData('gzip', cause)
  }
}
