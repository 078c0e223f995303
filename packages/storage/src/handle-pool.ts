/**
 * A bounded pool of open files. Thousands of partitions each have several segment files, more
 * than a process may keep open, so files are opened on use and the least recently used is
 * closed when the pool is full. Callers fetch a handle for each synchronous operation and
 * never keep it; an asynchronous operation (fsync) pins the handle until it settles.
 *
 * The bound counts every open handle, pinned ones included (also those closed while pinned,
 * which stay open until their operation settles). Pinned handles are never evicted, and at most
 * `maxOpen - 1` are pinned at once (later asynchronous operations wait for a slot), so a
 * synchronous `get` always finds room.
 *
 * Not thread-safe by design: the event loop is the only thread.
 */
import { StorageError, StorageErrorCode } from './errors.ts'
import type { FileHandle, FileSystem } from './file-system.ts'

interface Entry {
  handle: FileHandle
  pins: number
}

export class HandlePool {
  readonly maxOpen: number
  readonly #fs: FileSystem
  /** Insertion order is recency order: the first key is the least recently used. */
  readonly #open = new Map<string, Entry>()
  /** The path last fetched: when still open, already the last key (no reordering needed). */
  #last: string | undefined
  /** Handles with pins, in the map or not. */
  #pinned = 0
  /** Pinned handles no longer in the map (closed or evicted while pinned), still open. */
  #lingering = 0
  /** Asynchronous operations waiting for a pin slot. */
  readonly #waiters: Array<() => void> = []

  constructor (fs: FileSystem, maxOpen: number) {
    if (maxOpen < 2) throw new RangeError(`maxOpen must be at least 2, got ${maxOpen}`)
    this.#fs = fs
    this.maxOpen = maxOpen
  }

  /** Open handles, those of operations still under way included. */
  get size (): number {
    return this.#open.size + this.#lingering
  }

  /** Whether `path` exists (open or on disk), without opening it. */
  exists (path: string): boolean {
    return this.#open.has(path) || this.#fs.exists(path)
  }

  /** An open read-write handle on `path` (created when missing). */
  get (path: string): FileHandle {
    const entry = this.#open.get(path)
    if (entry !== undefined) {
      if (this.#last !== path) {
        this.#open.delete(path)
        this.#open.set(path, entry)
        this.#last = path
      }
      return entry.handle
    }
    this.#evict()
    const handle = this.#fs.open(path, 'write')
    this.#open.set(path, { handle, pins: 0 })
    this.#last = path
    return handle
  }

  /** Runs an async operation on the handle of `path`, keeping it open until it settles. */
  async with<T> (path: string, op: (handle: FileHandle) => Promise<T>): Promise<T> {
    let waited = false
    while (!((this.#open.get(path)?.pins ?? 0) > 0) && this.#pinned >= this.maxOpen - 1) {
      waited = true
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    // The file may have been deleted while this operation waited: do not recreate it.
    if (waited && !this.exists(path)) {
      this.#waiters.shift()?.()
      throw new StorageError(StorageErrorCode.NOT_FOUND, `'${path}' was removed`, { path })
    }
    const handle = this.get(path)
    const entry = this.#open.get(path)!
    if (entry.pins++ === 0) this.#pinned++
    try {
      return await op(handle)
    } finally {
      if (--entry.pins === 0) {
        this.#pinned--
        if (this.#open.get(path) !== entry) {
          this.#lingering--
          handle.close()
        }
        this.#waiters.shift()?.()
      }
    }
  }

  /** Closes `path` if open (before a rename or delete of the file). */
  close (path: string): void {
    const entry = this.#open.get(path)
    if (entry === undefined) return
    this.#open.delete(path)
    if (entry.pins === 0) entry.handle.close()
    else this.#lingering++
  }

  closeAll (): void {
    for (const path of [...this.#open.keys()]) this.close(path)
  }

  #evict (): void {
    if (this.size < this.maxOpen) return
    for (const [path, entry] of this.#open) {
      // A pinned handle is in use by an fsync; there are at most maxOpen - 1 of them.
      if (entry.pins > 0) continue
      this.#open.delete(path)
      entry.handle.close()
      if (this.size < this.maxOpen) return
    }
  }
}
