/**
 * A bounded pool of open files. Thousands of partitions each have several segment files, more
 * than a process may keep open, so files are opened on use and the least recently used is
 * closed when the pool is full. Callers fetch a handle for each synchronous operation and
 * never keep it; an asynchronous operation (fsync) pins the handle until it settles.
 *
 * Not thread-safe by design: the event loop is the only thread.
 */
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

  constructor (fs: FileSystem, maxOpen: number) {
    if (maxOpen < 2) throw new RangeError(`maxOpen must be at least 2, got ${maxOpen}`)
    this.#fs = fs
    this.maxOpen = maxOpen
  }

  get size (): number {
    return this.#open.size
  }

  /** Whether `path` exists (open or on disk), without opening it. */
  exists (path: string): boolean {
    return this.#open.has(path) || this.#fs.exists(path)
  }

  /** An open read-write handle on `path` (created when missing). */
  get (path: string): FileHandle {
    const entry = this.#open.get(path)
    if (entry !== undefined) {
      this.#open.delete(path)
      this.#open.set(path, entry)
      return entry.handle
    }
    this.#evict()
    const handle = this.#fs.open(path, 'write')
    this.#open.set(path, { handle, pins: 0 })
    return handle
  }

  /** Runs an async operation on the handle of `path`, keeping it open until it settles. */
  async with<T> (path: string, op: (handle: FileHandle) => Promise<T>): Promise<T> {
    const handle = this.get(path)
    const entry = this.#open.get(path)!
    entry.pins++
    try {
      return await op(handle)
    } finally {
      entry.pins--
      if (entry.pins === 0 && this.#open.get(path) !== entry) handle.close()
    }
  }

  /** Closes `path` if open (before a rename or delete of the file). */
  close (path: string): void {
    const entry = this.#open.get(path)
    if (entry === undefined) return
    this.#open.delete(path)
    if (entry.pins === 0) entry.handle.close()
  }

  closeAll (): void {
    for (const path of [...this.#open.keys()]) this.close(path)
  }

  #evict (): void {
    if (this.#open.size < this.maxOpen) return
    for (const [path, entry] of this.#open) {
      this.#open.delete(path)
      // A pinned handle closes when its operation ends (see `with`).
      if (entry.pins === 0) entry.handle.close()
      if (this.#open.size < this.maxOpen) return
    }
  }
}
