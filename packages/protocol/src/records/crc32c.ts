import { createRequire } from 'node:module'

/**
 * CRC-32C (Castagnoli), the checksum of RecordBatch v2 (`Crc32C.compute` in Kafka).
 *
 * The native `@node-rs/crc32` (SSE4.2 / ARMv8 CRC instructions) is used when it loads; a
 * pure-JS slicing-by-8 implementation takes over when it does not (an unsupported platform,
 * a missing prebuilt binary), so the protocol package never fails to import because of it.
 */

type NativeCrc = (input: Uint8Array, initialState?: number | null) => number

// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
const POLY = 0x82f63b78

// Eight 256-entry tables, one per byte lane. Int32Array keeps entries small integers for V8.
const TABLE = new Int32Array(8 * 256)
for (let i = 0; i < 256; i++) {
  let c = i
  for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? (c >>> 1) ^ POLY : c >>> 1
  TABLE[i] = c
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const prev = TABLE[(t - 1) * 256 + i]!
    TABLE[t * 256 + i] = (prev >>> 8) ^ TABLE[prev & 0xff]!
  }
}

/**
 * Pure-JS CRC-32C of `buf[start, end)`. `initial` continues a previous result, so
 * `crc32cJs(b, 0, b.length, crc32cJs(a))` equals the CRC of `a` followed by `b`.
 */
export function crc32cJs (buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  const t = TABLE
  let crc = ~initial
  let i = start
  const end8 = end - 8
  while (i <= end8) {
    const lo = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))
    const hi = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24)
    crc = t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^ t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^ t[512 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^ t[hi >>> 24]!
    i += 8
  }
  while (i < end) crc = t[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8)
  return ~crc >>> 0
}

/** Loads the native CRC-32C from package `name`; null when it is missing or gives wrong answers. */
export function loadNativeCrc32c (name = '@node-rs/crc32'): NativeCrc | null {
  try {
    const mod = createRequire(import.meta.url)(name) as { crc32c?: unknown }
    const fn = mod.crc32c
    if (typeof fn !== 'function') return null
    const native = fn as NativeCrc
    // Known answer ("123456789" → 0xE3069283) so a broken binary is never trusted.
    return native(Buffer.from('123456789')) === 0xe3069283 ? native : null
  } catch {
    return null
  }
}

/** The native CRC-32C function, or null when `@node-rs/crc32` could not be loaded. */
export const crc32cNative: NativeCrc | null = loadNativeCrc32c()

/** Which implementation {@link crc32c} uses. */
export const CRC32C_IMPLEMENTATION: 'native' | 'js' = crc32cNative === null ? 'js' : 'native'

// Below these sizes the JS loop (~1 ns/byte) beats the fixed cost of a native call (~120 ns)
// plus, for a range, creating the subarray view (~80 ns); measured with bench/records.bench.ts.
const NATIVE_MIN_WHOLE = 96
const NATIVE_MIN_RANGE = 192

/** CRC-32C of `buf[start, end)`, as an unsigned 32-bit number. */
export function crc32c (buf: Uint8Array, start = 0, end = buf.length): number {
  const native = crc32cNative
  const whole = start === 0 && end === buf.length
  if (native === null || end - start < (whole ? NATIVE_MIN_WHOLE : NATIVE_MIN_RANGE)) return crc32cJs(buf, start, end)
  return native(whole ? buf : buf.subarray(start, end)) >>> 0
}
