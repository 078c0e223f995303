/**
 * The storage engine's only door to the disk, so tests can swap in a fault-injecting
 * in-memory file system (see memory-file-system.ts).
 *
 * Data reads and writes are synchronous and positional. Appends land in the OS page cache
 * at memory-copy speed, which costs less than a round trip through libuv's thread pool, and a
 * partition's writes must be serial anyway (Kafka also writes in its request threads). Only
 * fsync, which can take milliseconds, is asynchronous.
 */
import {
  closeSync, fstatSync, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync,
  statSync, unlinkSync, writeSync, writevSync, existsSync, readFileSync, writeFileSync
} from 'node:fs'
import { dirname } from 'node:path'
import { StorageError } from './errors.ts'

export interface FileHandle {
  readonly path: string
  /** Current length in bytes. */
  size (): number
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; returns the bytes read. */
  read (buffer: Buffer, offset: number, length: number, position: number): number
  /** Writes all of `data` at `position`. */
  write (data: Buffer, position: number): void
  /** Writes all of `chunks` one after another starting at `position`. */
  writev (chunks: readonly Buffer[], position: number): void
  truncate (length: number): void
  /** Makes the written data durable (fsync). */
  sync (): Promise<void>
  /**
   * fsync, blocking the thread: only for rare paths that must be durable before anything else
   * is written (a recovery truncation, so a later crash cannot bring the cut bytes back).
   */
  syncNow (): void
  close (): void
}

export type OpenMode = 'read' | 'write'

export interface FileSystem {
  /** Opens a file; `write` creates it when missing. */
  open (path: string, mode: OpenMode): FileHandle
  exists (path: string): boolean
  size (path: string): number
  readFile (path: string): Buffer
  /**
   * Replaces `path` with `data` atomically and durably: write a temporary file, fsync it,
   * rename it over `path`, fsync the directory. A crash leaves the old or the new content.
   */
  writeFileAtomic (path: string, data: Buffer): Promise<void>
  rename (from: string, to: string): void
  unlink (path: string): void
  mkdir (path: string): void
  /** Names in a directory, sorted. */
  readdir (path: string): string[]
  /** Removes a directory and everything in it. */
  rmdir (path: string): void
  /** Makes renames, creations and deletions in a directory durable. */
  syncDir (path: string): Promise<void>
}

function wrap (error: unknown, op: string, path: string): never {
  throw StorageError.fromSystem(error, op, path)
}

function fsyncAsync (fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (error) => error === null ? resolve() : reject(error)))
}

class NodeFileHandle implements FileHandle {
  readonly path: string
  #fd: number

  constructor (path: string, fd: number) {
    this.path = path
    this.#fd = fd
  }

  size (): number {
    try {
      return fstatSync(this.#fd).size
    } catch (error) {
      return wrap(error, 'stat', this.path)
    }
  }

  read (buffer: Buffer, offset: number, length: number, position: number): number {
    try {
      let total = 0
      while (total < length) {
        const n = readSync(this.#fd, buffer, offset + total, length - total, position + total)
        if (n === 0) break
        total += n
      }
      return total
    } catch (error) {
      return wrap(error, 'read', this.path)
    }
  }

  write (data: Buffer, position: number): void {
    try {
      let done = 0
      while (done < data.length) done += writeSync(this.#fd, data, done, data.length - done, position + done)
    } catch (error) {
      wrap(error, 'write', this.path)
    }
  }

  writev (chunks: readonly Buffer[], position: number): void {
    let total = 0
    for (const c of chunks) total += c.length
    try {
      let written = writevSync(this.#fd, chunks, position)
      if (written === total) return
      // A short vectored write: finish chunk by chunk.
      let at = position + written
      for (const chunk of chunks) {
        if (written >= chunk.length) {
          written -= chunk.length
          continue
        }
        const rest = chunk.subarray(written)
        written = 0
        let done = 0
        while (done < rest.length) done += writeSync(this.#fd, rest, done, rest.length - done, at + done)
        at += rest.length
      }
    } catch (error) {
      wrap(error, 'write', this.path)
    }
  }

  truncate (length: number): void {
    try {
      ftruncateSync(this.#fd, length)
    } catch (error) {
      wrap(error, 'truncate', this.path)
    }
  }

  async sync (): Promise<void> {
    try {
      await fsyncAsync(this.#fd)
    } catch (error) {
      wrap(error, 'fsync', this.path)
    }
  }

  syncNow (): void {
    try {
      fsyncSync(this.#fd)
    } catch (error) {
      wrap(error, 'fsync', this.path)
    }
  }

  close (): void {
    if (this.#fd < 0) return
    try {
      closeSync(this.#fd)
    } finally {
      this.#fd = -1
    }
  }
}

/** The real file system. */
export class NodeFileSystem implements FileSystem {
  open (path: string, mode: OpenMode): FileHandle {
    try {
      return new NodeFileHandle(path, openSync(path, mode === 'read' ? 'r' : existsSync(path) ? 'r+' : 'w+'))
    } catch (error) {
      return wrap(error, 'open', path)
    }
  }

  exists (path: string): boolean {
    return existsSync(path)
  }

  size (path: string): number {
    try {
      return statSync(path).size
    } catch (error) {
      return wrap(error, 'stat', path)
    }
  }

  readFile (path: string): Buffer {
    try {
      return readFileSync(path)
    } catch (error) {
      return wrap(error, 'read', path)
    }
  }

  async writeFileAtomic (path: string, data: Buffer): Promise<void> {
    const tmp = `${path}.tmp`
    try {
      writeFileSync(tmp, data)
      const fd = openSync(tmp, 'r+')
      try {
        await fsyncAsync(fd)
      } finally {
        closeSync(fd)
      }
      renameSync(tmp, path)
    } catch (error) {
      wrap(error, 'write', path)
    }
    await this.syncDir(dirname(path))
  }

  rename (from: string, to: string): void {
    try {
      renameSync(from, to)
    } catch (error) {
      wrap(error, 'rename', from)
    }
  }

  unlink (path: string): void {
    try {
      unlinkSync(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') wrap(error, 'unlink', path)
    }
  }

  mkdir (path: string): void {
    try {
      mkdirSync(path, { recursive: true })
    } catch (error) {
      wrap(error, 'mkdir', path)
    }
  }

  readdir (path: string): string[] {
    try {
      return readdirSync(path).sort()
    } catch (error) {
      return wrap(error, 'readdir', path)
    }
  }

  rmdir (path: string): void {
    try {
      rmSync(path, { recursive: true, force: true })
    } catch (error) {
      wrap(error, 'rmdir', path)
    }
  }

  async syncDir (path: string): Promise<void> {
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (error) {
      return wrap(error, 'open', path)
    }
    try {
      await fsyncAsync(fd)
    } catch (error) {
      // Some file systems refuse fsync on directories; the rename is then as durable as it gets.
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') wrap(error, 'fsync', path)
    } finally {
      closeSync(fd)
    }
  }
}
