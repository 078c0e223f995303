import { ProtocolDecodeError } from '../primitives/errors.ts'
import { corruptCompressedData, DecompressionLimitError } from './errors.ts'
import { lazyNative } from './native.ts'

interface ZstdCCtx {
  compress: (dst: Uint8Array, src: Uint8Array, level: number) => number
}

interface ZstdDCtx {
  decompress: (dst: Uint8Array, src: Uint8Array) => number
  decompressStream: (dst: Uint8Array, src: Uint8Array) => [returnValue: number, dstProduced: number, srcConsumed: number]
  setParameter: (param: number, value: number) => void
  reset: (directive: number) => void
}

interface ZstdBinding {
  CCtx: new () => ZstdCCtx
  DCtx: new () => ZstdDCtx
  DParameter: { windowLogMax: number }
  ResetDirective: { sessionOnly: number, sessionAndParameters: number }
  compressBound: (size: number) => number
  getFrameContentSize: (frame: Uint8Array) => number | null
  findFrameCompressedSize: (frame: Uint8Array) => number
}

const binding = lazyNative<ZstdBinding>('zstd-napi/binding')

/** Kafka's default zstd level (`CompressionType.ZSTD` / zstd-jni default). */
export const ZSTD_DEFAULT_LEVEL = 3

// Contexts are reused: creating one allocates several hundred KB natively. The API here is
// synchronous, so one of each per process is safe.
let cctx: ZstdCCtx | undefined
let dctx: ZstdDCtx | undefined

/** zstd (codec 4). Writes one frame with the content size in its header. */
export function zstdCompress (data: Uint8Array, level = ZSTD_DEFAULT_LEVEL): Buffer {
  const b = binding()
  cctx ??= new b.CCtx()
  const out = Buffer.allocUnsafe(b.compressBound(data.length))
  const n = cctx.compress(out, data, level)
  // Copy into an exact-size buffer so the worst-case allocation is not retained.
  return Buffer.from(out.subarray(0, n))
}

// Smallest and largest windows the decoder accepts: 8 MB covers every level up to 19 with
// unknown content size; the limit grows with maxBytes, to zstd's default cap of 128 MB.
const MIN_WINDOW_LOG = 23
const MAX_WINDOW_LOG = 27
const STREAM_CHUNK = 128 * 1024

/**
 * Decompresses one or more zstd frames, failing with {@link DecompressionLimitError} once
 * the output passes `maxBytes`. A single frame that declares its content size (what
 * {@link zstdCompress} writes) is checked against the limit and then decoded in one call
 * into an exact-size buffer; anything else goes through the streaming decoder in 128 KB
 * steps, which stops at the limit. The decoder's window is capped as well, so a frame header
 * cannot make it reserve more than max(8 MB, maxBytes) (at most 128 MB) of memory.
 */
export function zstdDecompress (data: Uint8Array, maxBytes: number): Buffer {
  const b = binding()
  const ctx = dctx ??= new b.DCtx()
  try {
    let contentSize: number | null = null
    let single = false
    try {
      contentSize = b.getFrameContentSize(data)
      single = contentSize !== null && b.findFrameCompressedSize(data) === data.length
    } catch {
      // Not parseable as one complete frame: let the streaming decoder report why.
    }
    if (contentSize !== null && contentSize > maxBytes) throw new DecompressionLimitError('zstd', maxBytes)
    if (single) {
      const out = Buffer.allocUnsafe(contentSize!)
      const n = ctx.decompress(out, data)
      if (n !== contentSize) throw new ProtocolDecodeError(`Corrupt zstd data: frame declares ${contentSize} bytes, decoded ${n}`, 0)
      return out
    }
    return decompressStreaming(b, ctx, data, maxBytes)
  } catch (cause) {
    if (cause instanceof ProtocolDecodeError) throw cause
    // Leave the context usable after a failure mid-frame.
    ctx.reset(b.ResetDirective.sessionOnly)
    throw corruptCompressedData('zstd', cause)
  }
}

function decompressStreaming (b: ZstdBinding, ctx: ZstdDCtx, data: Uint8Array, maxBytes: number): Buffer {
  const windowLog = Math.min(MAX_WINDOW_LOG, Math.max(MIN_WINDOW_LOG, Math.ceil(Math.log2(Math.max(1, maxBytes)))))
  ctx.reset(b.ResetDirective.sessionAndParameters)
  ctx.setParameter(b.DParameter.windowLogMax, windowLog)
  const chunks: Buffer[] = []
  let total = 0
  let input = data
  let frameOpen = false
  for (;;) {
    const out = Buffer.allocUnsafe(Math.min(STREAM_CHUNK, maxBytes - total + 1))
    const [hint, produced, consumed] = ctx.decompressStream(out, input)
    input = input.subarray(consumed)
    frameOpen = hint !== 0
    if (produced > 0) {
      total += produced
      if (total > maxBytes) {
        ctx.reset(b.ResetDirective.sessionOnly)
        throw new DecompressionLimitError('zstd', maxBytes)
      }
      chunks.push(out.subarray(0, produced))
    }
    // Done when all input is consumed and the decoder had room to spare (nothing left to flush).
    if (input.length === 0 && produced < out.length) break
    if (consumed === 0 && produced === 0) throw new ProtocolDecodeError('Corrupt zstd data: decoder made no progress', data.length - input.length)
  }
  if (frameOpen) {
    ctx.reset(b.ResetDirective.sessionOnly)
    throw new ProtocolDecodeError('Corrupt zstd data: truncated frame', data.length)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}
