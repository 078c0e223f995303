/**
 * The log cleaner's key -> latest offset map over the dirty part of a log (Kafka's
 * SkimpyOffsetMap), in memory only: nothing here is written to disk.
 *
 * Memory is bounded like `log.cleaner.dedupe.buffer.size`: the map holds at most `slots`
 * keys. Keys of up to 32 bytes are kept as they are; longer ones by their SHA-256 digest, so
 * an entry costs about the same whatever the key size (Kafka keeps an MD5 digest of every
 * key; a digest collision between two keys is as unlikely here as there). When the map is
 * full a new key is refused and the cleaner cleans the prefix of the dirty range it mapped,
 * as Kafka does; keys already mapped can still move to a newer offset.
 */
import { hash } from 'node:crypto'

/** Rough bytes a JS Map entry with a short string key costs (what the buffer size is divided by). */
export const OFFSET_MAP_BYTES_PER_ENTRY = 96
/** `log.cleaner.dedupe.buffer.size` default. */
export const DEFAULT_DEDUPE_BUFFER_SIZE = 128 * 1024 * 1024
/** `log.cleaner.io.buffer.load.factor` default. */
export const DEFAULT_DEDUPE_LOAD_FACTOR = 0.9

const RAW_KEY_MAX = 32

function mapKey (key: Uint8Array): string {
  const buf = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  // The first character keeps raw keys and digests apart.
  return key.length <= RAW_KEY_MAX ? 'r' + buf.toString('latin1') : 'h' + hash('sha256', buf, 'base64')
}

export class OffsetMap {
  /** The most keys the map holds. */
  readonly slots: number
  readonly #map = new Map<string, number>()
  #latestOffset = -1

  constructor (slots: number) {
    if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError(`An offset map needs at least one slot, got ${slots}`)
    this.slots = slots
  }

  /** A map sized for `bufferBytes` of memory used up to `loadFactor`. */
  static forBufferSize (bufferBytes = DEFAULT_DEDUPE_BUFFER_SIZE, loadFactor = DEFAULT_DEDUPE_LOAD_FACTOR): OffsetMap {
    return new OffsetMap(Math.max(1, Math.floor(bufferBytes / OFFSET_MAP_BYTES_PER_ENTRY * loadFactor)))
  }

  get size (): number {
    return this.#map.size
  }

  get full (): boolean {
    return this.#map.size >= this.slots
  }

  /** The last offset of the range the map covers, -1 when it covers nothing. */
  get latestOffset (): number {
    return this.#latestOffset
  }

  /** Share of the slots in use. */
  get utilization (): number {
    return this.#map.size / this.slots
  }

  /**
   * Makes `offset` the latest offset of `key`. Returns false, changing nothing, when `key` is
   * not in the map and the map is full.
   */
  put (key: Uint8Array, offset: number): boolean {
    const k = mapKey(key)
    if (this.#map.size >= this.slots && !this.#map.has(k)) return false
    this.#map.set(k, offset)
    return true
  }

  /** The latest offset of `key`, or -1 when it is not in the map. */
  get (key: Uint8Array): number {
    return this.#map.get(mapKey(key)) ?? -1
  }

  /** Sets the last offset of the range the map covers. */
  updateLatestOffset (offset: number): void {
    this.#latestOffset = offset
  }

  clear (): void {
    this.#map.clear()
    this.#latestOffset = -1
  }
}
