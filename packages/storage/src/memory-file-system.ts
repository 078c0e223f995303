/**
 * An in-memory `FileSystem` for tests and for an in-process broker's in-memory store. It
 * mirrors `NodeFileSystem` (same results, same errno codes through `StorageError.fromSystem`)
 * and adds what a real disk cannot offer on demand: crashes, injected faults, a full disk.
 *
 * Durability model
 * - A file has its current bytes (what reads see) and its durable bytes: the current bytes as
 *   of the last completed `sync()` of any handle on it (fsync is per file, not per handle).
 *   A new file's durable content is empty.
 * - Directory entries (create, mkdir, rename, unlink, rmdir) are durable at once by default.
 *   With `strictDirectories` they are only durable once `syncDir` of the directory holding
 *   them completes (a rename counts for both directories and commits atomically).
 *   `writeFileAtomic` fsyncs its file and then its directory, so it is durable either way.
 * - `sync()` and `syncDir()` complete on a later macrotask (setImmediate), and only a
 *   completed call makes anything durable; a crash before then makes them reject with EIO.
 * - `crash()` is a power loss: every handle becomes invalid (later use throws StorageError IO,
 *   errno EIO; `close()` is a no-op), the namespace reverts to its durable entries, and every
 *   file to its durable bytes. With `tornWrites`, for each file with unsynced changes, the
 *   overwrites of its durable region land all or none (a coin toss per file) and a random
 *   prefix of its unsynced appended bytes survives, a torn tail like a partial page write-back.
 *
 * Paths are POSIX; relative ones resolve against `/`. Capacity counts file lengths: there
 * are no sparse files, but extending with `truncate` never fails with ENOSPC (on a real disk
 * it makes a hole).
 */
import { Buffer, constants as bufferConstants } from 'node:buffer'
import { constants as osConstants } from 'node:os'
import { posix } from 'node:path'
import { getSystemErrorMap } from 'node:util'
import { StorageError } from './errors.ts'
import type { FileHandle, FileSystem, OpenMode } from './file-system.ts'

/** The operations `failNext` can make fail. */
export type FaultOp =
  | 'open' | 'read' | 'write' | 'sync' | 'truncate' | 'rename' | 'unlink' | 'mkdir' | 'readdir' | 'rmdir' | 'stat' | 'close'

/** An errno name; the common ones are listed for completion, any other string works too. */
export type ErrnoCode =
  | 'ENOSPC' | 'EDQUOT' | 'EIO' | 'EACCES' | 'EPERM' | 'EROFS' | 'EMFILE' | 'EBADF' | 'EINVAL' | 'ENOENT' | 'EBUSY'
  | (string & {})

export type PathMatcher = string | RegExp | ((path: string) => boolean)

export interface FaultOptions {
  /** Only operations on matching (normalised) paths fail; a rename matches on either path. */
  path?: PathMatcher | undefined
  /** How many matching operations fail (default 1). */
  times?: number | undefined
  /**
   * Writes only: write a prefix of the data before throwing, like a short write followed by
   * an error. `true` writes half (rounded down), a number writes that many bytes.
   */
  partial?: boolean | number | undefined
}

export interface MemoryFileSystemOptions {
  /** Directory entries become durable only at `syncDir` (default false: at once). */
  strictDirectories?: boolean | undefined
  /** Total bytes across files; see `setCapacity`. */
  capacity?: number | null | undefined
  /**
   * Keep durable copies for `crash()` (default true). An in-memory store that never crashes
   * can turn it off to hold each byte once.
   */
  trackDurability?: boolean | undefined
}

export interface CapacityOptions {
  /** A write that does not fit writes the prefix that fits before throwing ENOSPC. */
  partial?: boolean | undefined
}

export interface CrashOptions {
  /** Keep random parts of the unsynced data (see the header comment). */
  tornWrites?: boolean | undefined
  /** The randomness for torn writes, in [0, 1). */
  random?: (() => number) | undefined
  /** Seeds `mulberry32` when no `random` is given; a random seed is drawn otherwise. */
  seed?: number | undefined
}

export interface TornFile {
  readonly path: string
  /** Durable length before the crash. */
  readonly durableLength: number
  /** Length after the crash. */
  readonly length: number
  /** Whether the unsynced overwrites of the durable region landed. */
  readonly overwritesLanded: boolean
  /** Unsynced appended bytes that survived. */
  readonly keptAppendBytes: number
  /** Unsynced appended bytes that were lost. */
  readonly lostAppendBytes: number
}

export interface CrashReport {
  /** The seed used for torn writes, when one was drawn or given (print it to reproduce). */
  readonly seed: number | undefined
  /** Files that had unsynced changes when `tornWrites` was on, in path order. */
  readonly tornFiles: readonly TornFile[]
}

export interface MemoryFileSystemStats {
  /** Successful `open` calls. */
  opens: number
  /** Read calls (handle reads and readFile). */
  reads: number
  bytesRead: number
  /** Write calls (write, writev, writeFileAtomic's write), failed ones included. */
  writes: number
  /** Bytes that reached a file, partial writes included. */
  bytesWritten: number
  /** Completed file fsyncs. */
  syncs: number
  /** Completed directory fsyncs. */
  dirSyncs: number
  /** Injected faults that fired (capacity ENOSPC included). */
  faults: number
}

/** A small seeded PRNG (mulberry32) returning floats in [0, 1), for reproducible crashes. */
export function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A random 32-bit seed for `mulberry32`. */
export function randomSeed (): number {
  return Math.floor(Math.random() * 4294967296)
}

// What stat reports for a directory on ext4; nothing should depend on it.
const DIRECTORY_SIZE = 4096
const MIN_CAPACITY = 64
const EMPTY = Buffer.alloc(0)

interface FileNode {
  readonly kind: 'file'
  /** Current content in [0, length); capacity doubles as the file grows. */
  data: Buffer
  length: number
  /** Durable content in [0, durableLength). */
  durable: Buffer
  durableLength: number
  /**
   * Hull of the positions written since the last sync. Outside it, current and durable bytes
   * agree below min(length, durableLength), so sync copies only the hull.
   */
  dirtyStart: number
  dirtyEnd: number
  /** Links in the current namespace and open handles; space is freed when both are 0. */
  nlink: number
  openCount: number
}

interface DirNode {
  readonly kind: 'dir'
  entries: Map<string, Node>
  durable: Map<string, Node>
}

type Node = FileNode | DirNode

/** A directory-entry change not yet durable (strictDirectories). */
interface PendingOp {
  readonly dirs: readonly DirNode[]
  readonly apply: () => void
}

interface Fault {
  readonly op: FaultOp
  readonly code: string
  readonly matches: (path: string) => boolean
  readonly partial: boolean | number
  remaining: number
}

const systemErrors = getSystemErrorMap()
const errnoNumbers = osConstants.errno as Record<string, number | undefined>

/** An error shaped like the ones node:fs throws, so fromSystem classifies it the same way. */
function errnoError (code: string, syscall: string, path?: string, dest?: string, note?: string): NodeJS.ErrnoException {
  const errno = errnoNumbers[code]
  const description = errno === undefined ? undefined : systemErrors.get(-errno)?.[1]
  let message = `${code}: ${description ?? 'simulated error'}, ${syscall}`
  if (path !== undefined) message += ` '${path}'`
  if (dest !== undefined) message += ` -> '${dest}'`
  if (note !== undefined) message += ` (${note})`
  const error: NodeJS.ErrnoException & { dest?: string } = new Error(message)
  error.code = code
  error.syscall = syscall
  if (errno !== undefined) error.errno = -errno
  if (path !== undefined) error.path = path
  if (dest !== undefined) error.dest = dest
  return error
}

function outOfRange (name: string, value: number): RangeError {
  const error = new RangeError(`The value of "${name}" is out of range. Received ${value}`)
  Object.assign(error, { code: 'ERR_OUT_OF_RANGE' })
  return error
}

function wrap (error: unknown, op: string, path: string): never {
  throw StorageError.fromSystem(error, op, path)
}

function normalize (path: string): string {
  // '' names nothing (ENOENT), as for node:fs, instead of resolving to '/'.
  return path === '' ? '' : posix.resolve('/', path)
}

function split (normalized: string): string[] {
  return normalized === '/' ? [] : normalized.slice(1).split('/')
}

function newDir (): DirNode {
  return { kind: 'dir', entries: new Map(), durable: new Map() }
}

function newFile (): FileNode {
  return {
    kind: 'file',
    data: EMPTY,
    length: 0,
    durable: EMPTY,
    durableLength: 0,
    dirtyStart: Infinity,
    dirtyEnd: 0,
    nlink: 0,
    openCount: 0
  }
}

/** Returns a buffer of at least `needed` bytes holding the first `used` bytes of `buffer`. */
function grow (buffer: Buffer, used: number, needed: number): Buffer {
  if (needed <= buffer.length) return buffer
  if (needed > bufferConstants.MAX_LENGTH) throw errnoError('EFBIG', 'write')
  let capacity = Math.max(buffer.length * 2, MIN_CAPACITY)
  while (capacity < needed) capacity *= 2
  const next = Buffer.alloc(Math.min(capacity, bufferConstants.MAX_LENGTH))
  buffer.copy(next, 0, 0, used)
  return next
}

function markDirty (file: FileNode, start: number, end: number): void {
  if (start < file.dirtyStart) file.dirtyStart = start
  if (end > file.dirtyEnd) file.dirtyEnd = end
}

function hasUnsyncedChanges (file: FileNode): boolean {
  return file.dirtyStart < file.dirtyEnd || file.length !== file.durableLength
}

function walk (root: DirNode, normalized: string, durable: boolean): Node | 'ENOENT' | 'ENOTDIR' {
  let node: Node = root
  for (const part of split(normalized)) {
    if (node.kind !== 'dir') return 'ENOTDIR'
    const next: Node | undefined = (durable ? node.durable : node.entries).get(part)
    if (next === undefined) return 'ENOENT'
    node = next
  }
  return node
}

function pathMatcher (matcher: PathMatcher | undefined): (path: string) => boolean {
  if (matcher === undefined) return () => true
  if (typeof matcher === 'function') return matcher
  if (typeof matcher === 'string') {
    const want = normalize(matcher)
    return (path) => path === want
  }
  return (path) => {
    matcher.lastIndex = 0 // a /g or /y RegExp is stateful
    return matcher.test(path)
  }
}

function partialLength (partial: boolean | number, total: number): number {
  if (partial === false) return 0
  if (partial === true) return Math.floor(total / 2)
  return Math.max(0, Math.min(total, Math.floor(partial)))
}

function nextMacrotask (): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * The state and the raw operations, shared by the file system and its handles. Raw operations
 * throw node-style errno errors; the public methods wrap them exactly as NodeFileSystem does.
 */
class Disk {
  readonly strict: boolean
  readonly trackDurability: boolean
  root: DirNode = newDir()
  /** Bumped by crash(); handles and in-flight fsyncs from an older epoch are dead. */
  epoch = 0
  pending: PendingOp[] = []
  faults: Fault[] = []
  capacity: number | null = null
  partialOnFull = false
  used = 0
  openHandles = 0
  stats: MemoryFileSystemStats = Disk.zeroStats()

  constructor (options: MemoryFileSystemOptions) {
    this.strict = options.strictDirectories ?? false
    this.trackDurability = options.trackDurability ?? true
    this.capacity = options.capacity ?? null
  }

  static zeroStats (): MemoryFileSystemStats {
    return { opens: 0, reads: 0, bytesRead: 0, writes: 0, bytesWritten: 0, syncs: 0, dirSyncs: 0, faults: 0 }
  }

  // --- faults ---

  takeFault (op: FaultOp, path: string, otherPath?: string): Fault | undefined {
    if (this.faults.length === 0) return undefined
    const index = this.faults.findIndex((f) => f.op === op && (f.matches(path) || (otherPath !== undefined && f.matches(otherPath))))
    if (index < 0) return undefined
    const fault = this.faults[index]!
    if (--fault.remaining === 0) this.faults.splice(index, 1)
    this.stats.faults++
    return fault
  }

  failIf (op: FaultOp, path: string, syscall: string, display: string, otherPath?: string, otherDisplay?: string): void {
    const fault = this.takeFault(op, path, otherPath)
    if (fault !== undefined) throw errnoError(fault.code, syscall, display, otherDisplay)
  }

  // --- namespace ---

  lookup (normalized: string, syscall: string, display: string): Node {
    const node = walk(this.root, normalized, false)
    if (typeof node === 'string') throw errnoError(node, syscall, display)
    return node
  }

  lookupFile (normalized: string, syscall: string, display: string): FileNode {
    const node = this.lookup(normalized, syscall, display)
    if (node.kind === 'dir') throw errnoError('EISDIR', syscall, display)
    return node
  }

  /** The directory that would hold `normalized`, and the entry's name. */
  parentOf (normalized: string, syscall: string, display: string): { dir: DirNode, name: string } {
    const parent = this.lookup(posix.dirname(normalized), syscall, display)
    if (parent.kind !== 'dir') throw errnoError('ENOTDIR', syscall, display)
    return { dir: parent, name: posix.basename(normalized) }
  }

  /** Records a directory-entry change: durable now, or at the next syncDir in strict mode. */
  record (dirs: readonly DirNode[], apply: () => void): void {
    if (this.strict) this.pending.push({ dirs, apply })
    else apply()
  }

  link (dir: DirNode, name: string, node: Node): void {
    const replaced = dir.entries.get(name)
    if (replaced !== undefined) this.dropLink(replaced)
    dir.entries.set(name, node)
    if (node.kind === 'file') node.nlink++
    this.record([dir], () => dir.durable.set(name, node))
  }

  unlinkEntry (dir: DirNode, name: string): void {
    const node = dir.entries.get(name)
    if (node === undefined) return
    dir.entries.delete(name)
    this.dropLink(node)
    this.record([dir], () => dir.durable.delete(name))
  }

  move (from: DirNode, fromName: string, to: DirNode, toName: string): void {
    const node = from.entries.get(fromName)!
    const replaced = to.entries.get(toName)
    if (replaced !== undefined) this.dropLink(replaced)
    from.entries.delete(fromName)
    to.entries.set(toName, node)
    this.record(from === to ? [from] : [from, to], () => {
      from.durable.delete(fromName)
      to.durable.set(toName, node)
    })
  }

  /** rm -rf: unlinks the children first, like the real thing, so each step has its own entry. */
  removeTree (dir: DirNode, name: string): void {
    const node = dir.entries.get(name)
    if (node === undefined) return
    if (node.kind === 'dir') {
      for (const child of [...node.entries.keys()].sort()) this.removeTree(node, child)
    }
    this.unlinkEntry(dir, name)
  }

  dropLink (node: Node): void {
    if (node.kind !== 'file') return
    node.nlink--
    if (node.nlink === 0 && node.openCount === 0) this.used -= node.length
  }

  releaseHandle (file: FileNode): void {
    file.openCount--
    if (file.nlink === 0 && file.openCount === 0) this.used -= file.length
  }

  /**
   * Makes `dir`'s pending entries durable. Each directory's pending changes commit in order,
   * so a rename committed through the other directory first commits that one's earlier changes.
   */
  commitDir (dir: DirNode): void {
    if (this.pending.length === 0) return
    const pending = this.pending
    const bound = new Map<DirNode, number>([[dir, pending.length - 1]])
    const include = new Array<boolean>(pending.length).fill(false)
    let changed = true
    while (changed) {
      changed = false
      for (let i = pending.length - 1; i >= 0; i--) {
        if (include[i] === true) continue
        const op = pending[i]!
        if (!op.dirs.some((d) => (bound.get(d) ?? -1) >= i)) continue
        include[i] = true
        changed = true
        for (const d of op.dirs) if ((bound.get(d) ?? -1) < i) bound.set(d, i)
      }
    }
    const rest: PendingOp[] = []
    pending.forEach((op, i) => {
      if (include[i] === true) op.apply()
      else rest.push(op)
    })
    this.pending = rest
  }

  // --- file content ---

  isLive (file: FileNode): boolean {
    return file.nlink > 0 || file.openCount > 0
  }

  setLength (file: FileNode, length: number): void {
    if (this.isLive(file)) this.used += length - file.length
    file.length = length
  }

  /** Bytes that fit when writing at `position` without exceeding the capacity. */
  room (file: FileNode, position: number): number {
    if (this.capacity === null) return Infinity
    const free = Math.max(0, this.capacity - this.used)
    return Math.max(0, file.length + free - position)
  }

  write (file: FileNode, path: string, data: Buffer | readonly Buffer[], position: number, syscall: string): void {
    let total = 0
    if (Buffer.isBuffer(data)) total = data.length
    else for (const chunk of data) total += chunk.length
    const fault = this.takeFault('write', path)
    let n = total
    let error: NodeJS.ErrnoException | undefined
    if (fault !== undefined) {
      n = partialLength(fault.partial, total)
      error = errnoError(fault.code, syscall)
    }
    const room = this.room(file, position)
    if (n > room) {
      n = this.partialOnFull ? room : 0
      if (error === undefined) {
        this.stats.faults++
        error = errnoError('ENOSPC', syscall)
      }
    }
    this.stats.writes++
    if (n > 0) {
      const end = position + n
      if (end > file.data.length) file.data = grow(file.data, file.length, end)
      // Writing past the end leaves a hole that reads as zeros.
      if (position > file.length) file.data.fill(0, file.length, position)
      if (Buffer.isBuffer(data)) {
        data.copy(file.data, position, 0, n)
      } else {
        let at = position
        for (const chunk of data) {
          if (at >= end) break
          const k = Math.min(chunk.length, end - at)
          chunk.copy(file.data, at, 0, k)
          at += k
        }
      }
      markDirty(file, Math.min(position, file.length), end)
      if (end > file.length) this.setLength(file, end)
      this.stats.bytesWritten += n
    }
    if (error !== undefined) throw error
  }

  truncate (file: FileNode, length: number): void {
    // ftruncate(2) through node clamps a negative length to 0.
    const target = Math.max(0, Math.floor(length))
    if (target > file.length) {
      if (target > file.data.length) file.data = grow(file.data, file.length, target)
      file.data.fill(0, file.length, target)
      markDirty(file, file.length, target)
    } else if (target < file.data.length / 4 && file.data.length > 65536) {
      // Give memory back after a large cut.
      const smaller = Buffer.alloc(Math.max(MIN_CAPACITY, target * 2))
      file.data.copy(smaller, 0, 0, target)
      file.data = smaller
    }
    this.setLength(file, target)
  }

  read (file: FileNode, buffer: Buffer, offset: number, length: number, position: number): number {
    const n = Math.max(0, Math.min(length, file.length - position))
    if (n > 0) file.data.copy(buffer, offset, position, position + n)
    this.stats.reads++
    this.stats.bytesRead += n
    return n
  }

  /** A blocking fsync: the current content is durable when it returns. */
  fsyncNow (node: Node, path: string): void {
    const fault = this.takeFault('sync', path)
    if (fault !== undefined) throw errnoError(fault.code, 'fsync')
    if (node.kind === 'file') {
      this.commitFile(node)
      this.stats.syncs++
    } else {
      this.commitDir(node)
      this.stats.dirSyncs++
    }
  }

  /** fsync: makes the current content durable when it completes, on a later macrotask. */
  async fsync (node: Node, path: string): Promise<void> {
    const fault = this.takeFault('sync', path)
    const epoch = this.epoch
    await nextMacrotask()
    if (this.epoch !== epoch) throw errnoError('EIO', 'fsync', undefined, undefined, 'simulated crash before fsync completed')
    if (fault !== undefined) throw errnoError(fault.code, 'fsync')
    if (node.kind === 'file') {
      this.commitFile(node)
      this.stats.syncs++
    } else {
      this.commitDir(node)
      this.stats.dirSyncs++
    }
  }

  commitFile (file: FileNode): void {
    if (!this.trackDurability) return
    let start = file.dirtyStart
    let end = file.dirtyEnd
    if (file.length > file.durableLength) {
      start = Math.min(start, file.durableLength)
      end = Math.max(end, file.length)
    }
    end = Math.min(end, file.length)
    if (file.length > file.durable.length) file.durable = grow(file.durable, file.durableLength, file.length)
    if (start < end) file.data.copy(file.durable, start, start, end)
    file.durableLength = file.length
    file.dirtyStart = Infinity
    file.dirtyEnd = 0
  }

  // --- crash ---

  crash (options: CrashOptions): CrashReport {
    if (!this.trackDurability) throw new Error('crash() needs a MemoryFileSystem with trackDurability')
    this.epoch++
    this.openHandles = 0
    this.pending = []
    let seed: number | undefined
    let random: (() => number) | undefined
    if (options.tornWrites === true) {
      random = options.random
      if (random === undefined) {
        seed = options.seed ?? randomSeed()
        random = mulberry32(seed)
      }
    }
    const tornFiles: TornFile[] = []
    const seen = new Set<Node>()
    this.used = 0
    const restore = (dir: DirNode, path: string): void => {
      dir.entries = new Map(dir.durable)
      for (const name of [...dir.entries.keys()].sort()) {
        const node = dir.entries.get(name)!
        const childPath = path === '/' ? `/${name}` : `${path}/${name}`
        if (seen.has(node)) {
          if (node.kind === 'file') node.nlink++
          continue
        }
        seen.add(node)
        if (node.kind === 'dir') {
          restore(node, childPath)
          continue
        }
        if (random !== undefined && hasUnsyncedChanges(node)) tornFiles.push(this.tear(node, childPath, random))
        node.data = Buffer.from(node.durable.subarray(0, node.durableLength))
        node.length = node.durableLength
        node.dirtyStart = Infinity
        node.dirtyEnd = 0
        node.nlink = 1
        node.openCount = 0
        this.used += node.length
      }
    }
    restore(this.root, '/')
    return { seed, tornFiles }
  }

  /** Decides which unsynced bytes of `file` reached the disk before the power went. */
  tear (file: FileNode, path: string, random: () => number): TornFile {
    const durableLength = file.durableLength
    const overwritesLanded = random() < 0.5
    if (overwritesLanded) {
      const end = Math.min(file.dirtyEnd, file.length, durableLength)
      if (file.dirtyStart < end) file.data.copy(file.durable, file.dirtyStart, file.dirtyStart, end)
      if (file.length < durableLength) file.durableLength = file.length
    }
    let kept = 0
    let lost = 0
    if (file.length > durableLength) {
      const appended = file.length - durableLength
      kept = Math.min(appended, Math.floor(random() * (appended + 1)))
      lost = appended - kept
      file.durable = grow(file.durable, durableLength, durableLength + kept)
      file.data.copy(file.durable, durableLength, durableLength, durableLength + kept)
      file.durableLength = durableLength + kept
    }
    return { path, durableLength, length: file.durableLength, overwritesLanded, keptAppendBytes: kept, lostAppendBytes: lost }
  }
}

class MemoryFileHandle implements FileHandle {
  readonly path: string
  #disk: Disk
  #node: Node
  #normalized: string
  #writable: boolean
  #epoch: number
  #closed = false

  constructor (disk: Disk, path: string, normalized: string, node: Node, writable: boolean) {
    this.path = path
    this.#disk = disk
    this.#node = node
    this.#normalized = normalized
    this.#writable = writable
    this.#epoch = disk.epoch
  }

  /** The node behind a usable handle; throws like a bad descriptor otherwise. */
  #live (syscall: string): Node {
    if (this.#epoch !== this.#disk.epoch) throw errnoError('EIO', syscall, undefined, undefined, 'handle invalidated by a simulated crash')
    if (this.#closed) throw errnoError('EBADF', syscall)
    return this.#node
  }

  #writableFile (syscall: string, denied: string): FileNode {
    const node = this.#live(syscall)
    if (!this.#writable || node.kind !== 'file') throw errnoError(denied, syscall)
    return node
  }

  size (): number {
    try {
      const node = this.#live('fstat')
      this.#disk.failIf('stat', this.#normalized, 'fstat', this.path)
      return node.kind === 'file' ? node.length : DIRECTORY_SIZE
    } catch (error) {
      return wrap(error, 'stat', this.path)
    }
  }

  read (buffer: Buffer, offset: number, length: number, position: number): number {
    // NodeFileSystem makes no system call for an empty read.
    if (length <= 0) return 0
    try {
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > buffer.length) throw outOfRange('offset', offset)
      if (!Number.isSafeInteger(length) || length < 0 || offset + length > buffer.length) throw outOfRange('length', length)
      if (!Number.isSafeInteger(position) || position < 0) throw outOfRange('position', position)
      const node = this.#live('read')
      this.#disk.failIf('read', this.#normalized, 'read', this.path)
      if (node.kind === 'dir') throw errnoError('EISDIR', 'read')
      return this.#disk.read(node, buffer, offset, length, position)
    } catch (error) {
      return wrap(error, 'read', this.path)
    }
  }

  write (data: Buffer, position: number): void {
    // NodeFileSystem makes no system call for an empty write.
    if (data.length === 0) return
    try {
      if (!Number.isSafeInteger(position) || position < 0) throw outOfRange('position', position)
      const file = this.#writableFile('write', 'EBADF')
      this.#disk.write(file, this.#normalized, data, position, 'write')
    } catch (error) {
      wrap(error, 'write', this.path)
    }
  }

  writev (chunks: readonly Buffer[], position: number): void {
    try {
      if (!Number.isSafeInteger(position) || position < 0) throw outOfRange('position', position)
      // writev(fd, [], pos) writes nothing and succeeds even on a read-only descriptor.
      if (chunks.length === 0 && !this.#closed && this.#epoch === this.#disk.epoch) return
      const file = this.#writableFile('write', 'EBADF')
      let total = 0
      for (const chunk of chunks) total += chunk.length
      if (total === 0) return
      this.#disk.write(file, this.#normalized, chunks, position, 'write')
    } catch (error) {
      wrap(error, 'write', this.path)
    }
  }

  truncate (length: number): void {
    try {
      const file = this.#writableFile('ftruncate', 'EINVAL')
      this.#disk.failIf('truncate', this.#normalized, 'ftruncate', this.path)
      this.#disk.truncate(file, length)
    } catch (error) {
      wrap(error, 'truncate', this.path)
    }
  }

  async sync (): Promise<void> {
    try {
      await this.#disk.fsync(this.#live('fsync'), this.#normalized)
    } catch (error) {
      wrap(error, 'fsync', this.path)
    }
  }

  syncNow (): void {
    try {
      this.#disk.fsyncNow(this.#live('fsync'), this.#normalized)
    } catch (error) {
      wrap(error, 'fsync', this.path)
    }
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    // After a crash the descriptor is already gone, and so is its count.
    if (this.#epoch !== this.#disk.epoch) return
    this.#disk.openHandles--
    if (this.#node.kind === 'file') this.#disk.releaseHandle(this.#node)
    try {
      // close(2) can report an error, but the descriptor is released regardless.
      this.#disk.failIf('close', this.#normalized, 'close', this.path)
    } catch (error) {
      wrap(error, 'close', this.path)
    }
  }
}

/** The in-memory file system; see the header comment for the durability model. */
export class MemoryFileSystem implements FileSystem {
  #disk: Disk
  #maxOpenHandles: number | null = null

  constructor (options: MemoryFileSystemOptions = {}) {
    this.#disk = new Disk(options)
  }

  // --- FileSystem ---

  open (path: string, mode: OpenMode): FileHandle {
    const disk = this.#disk
    try {
      const normalized = normalize(path)
      disk.failIf('open', normalized, 'open', path)
      if (this.#maxOpenHandles !== null && disk.openHandles >= this.#maxOpenHandles) throw errnoError('EMFILE', 'open', path)
      const node = mode === 'read' ? disk.lookup(normalized, 'open', path) : this.#openForWrite(normalized, path)
      disk.openHandles++
      if (node.kind === 'file') node.openCount++
      disk.stats.opens++
      return new MemoryFileHandle(disk, path, normalized, node, mode === 'write')
    } catch (error) {
      return wrap(error, 'open', path)
    }
  }

  exists (path: string): boolean {
    return typeof walk(this.#disk.root, normalize(path), false) !== 'string'
  }

  size (path: string): number {
    try {
      const normalized = normalize(path)
      this.#disk.failIf('stat', normalized, 'stat', path)
      const node = this.#disk.lookup(normalized, 'stat', path)
      return node.kind === 'file' ? node.length : DIRECTORY_SIZE
    } catch (error) {
      return wrap(error, 'stat', path)
    }
  }

  readFile (path: string): Buffer {
    const disk = this.#disk
    try {
      const normalized = normalize(path)
      disk.failIf('open', normalized, 'open', path)
      const node = disk.lookup(normalized, 'open', path)
      disk.failIf('read', normalized, 'read', path)
      if (node.kind === 'dir') throw errnoError('EISDIR', 'read')
      const out = Buffer.alloc(node.length)
      disk.read(node, out, 0, node.length, 0)
      return out
    } catch (error) {
      return wrap(error, 'read', path)
    }
  }

  async writeFileAtomic (path: string, data: Buffer): Promise<void> {
    const disk = this.#disk
    const tmp = `${path}.tmp`
    try {
      // The same steps as NodeFileSystem, each with its own fault point.
      const normalizedTmp = normalize(tmp)
      disk.failIf('open', normalizedTmp, 'open', tmp)
      const file = this.#openForWrite(normalizedTmp, tmp)
      const epoch = disk.epoch
      file.openCount++
      try {
        disk.truncate(file, 0) // writeFileSync opens with O_TRUNC
        if (data.length > 0) disk.write(file, normalizedTmp, data, 0, 'write')
        disk.failIf('open', normalizedTmp, 'open', tmp)
        await disk.fsync(file, normalizedTmp)
      } finally {
        // A crash during the fsync already dropped every descriptor.
        if (disk.epoch === epoch) disk.releaseHandle(file)
      }
      this.#renameRaw(tmp, path)
    } catch (error) {
      wrap(error, 'write', path)
    }
    await this.syncDir(posix.dirname(path))
  }

  rename (from: string, to: string): void {
    try {
      this.#renameRaw(from, to)
    } catch (error) {
      wrap(error, 'rename', from)
    }
  }

  unlink (path: string): void {
    const disk = this.#disk
    try {
      const normalized = normalize(path)
      disk.failIf('unlink', normalized, 'unlink', path)
      const node = walk(disk.root, normalized, false)
      if (node === 'ENOENT') return
      if (node === 'ENOTDIR') throw errnoError('ENOTDIR', 'unlink', path)
      if (node.kind === 'dir') throw errnoError('EISDIR', 'unlink', path)
      const { dir, name } = disk.parentOf(normalized, 'unlink', path)
      disk.unlinkEntry(dir, name)
    } catch (error) {
      wrap(error, 'unlink', path)
    }
  }

  mkdir (path: string): void {
    const disk = this.#disk
    try {
      const normalized = normalize(path)
      disk.failIf('mkdir', normalized, 'mkdir', path)
      if (normalized === '') throw errnoError('ENOENT', 'mkdir', path)
      const parts = split(normalized)
      let dir = disk.root
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!
        let next = dir.entries.get(part)
        if (next === undefined) {
          next = newDir()
          disk.link(dir, part, next)
        }
        if (next.kind === 'file') throw errnoError(i === parts.length - 1 ? 'EEXIST' : 'ENOTDIR', 'mkdir', path)
        dir = next
      }
    } catch (error) {
      wrap(error, 'mkdir', path)
    }
  }

  readdir (path: string): string[] {
    const disk = this.#disk
    try {
      const normalized = normalize(path)
      disk.failIf('readdir', normalized, 'scandir', path)
      const node = disk.lookup(normalized, 'scandir', path)
      if (node.kind === 'file') throw errnoError('ENOTDIR', 'scandir', path)
      return [...node.entries.keys()].sort()
    } catch (error) {
      return wrap(error, 'readdir', path)
    }
  }

  rmdir (path: string): void {
    const disk = this.#disk
    try {
      const normalized = normalize(path)
      disk.failIf('rmdir', normalized, 'rm', path)
      if (normalized === '/') throw errnoError('EPERM', 'rm', path)
      const node = walk(disk.root, normalized, false)
      if (node === 'ENOENT') return // rmSync's force
      if (node === 'ENOTDIR') throw errnoError('ENOTDIR', 'rm', path)
      const { dir, name } = disk.parentOf(normalized, 'rm', path)
      disk.removeTree(dir, name)
    } catch (error) {
      wrap(error, 'rmdir', path)
    }
  }

  async syncDir (path: string): Promise<void> {
    const disk = this.#disk
    let node: Node
    let normalized: string
    try {
      normalized = normalize(path)
      disk.failIf('open', normalized, 'open', path)
      node = disk.lookup(normalized, 'open', path)
    } catch (error) {
      return wrap(error, 'open', path)
    }
    try {
      await disk.fsync(node, normalized)
    } catch (error) {
      // NodeFileSystem tolerates file systems that refuse fsync on directories.
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') wrap(error, 'fsync', path)
    }
  }

  // --- simulation controls ---

  /**
   * Simulates a power loss (see the header comment) and returns what happened to the files
   * with unsynced changes when `tornWrites` is on, with the seed to reproduce it.
   */
  crash (options: CrashOptions = {}): CrashReport {
    return this.#disk.crash(options)
  }

  /**
   * Makes the next matching `op` (or `times` of them) throw the StorageError NodeFileSystem
   * would throw for `error`, without performing it (writes may write a `partial` prefix).
   * Faults fire in the order they were added. 'open' also covers the opens inside readFile,
   * writeFileAtomic and syncDir; 'sync' covers syncDir; 'stat' covers size(). writeFileAtomic
   * runs open, write, open, sync on `${path}.tmp`, then rename, then syncDir's open and sync.
   */
  failNext (op: FaultOp, error: ErrnoCode, options: FaultOptions = {}): void {
    const times = options.times ?? 1
    if (!Number.isSafeInteger(times) || times < 1) throw new RangeError(`times must be a positive integer, got ${times}`)
    this.#disk.faults.push({ op, code: error, matches: pathMatcher(options.path), partial: options.partial ?? false, remaining: times })
  }

  /** Drops every fault not yet fired. */
  clearFaults (): void {
    this.#disk.faults = []
  }

  /** Faults not yet fired (each counts its remaining `times`). */
  get pendingFaults (): number {
    return this.#disk.faults.reduce((sum, f) => sum + f.remaining, 0)
  }

  /**
   * Limits the total length of all files (null: unlimited). A write that would exceed it
   * throws ENOSPC, writing nothing or, with `partial`, the prefix that fits. Reads still work.
   */
  setCapacity (bytes: number | null, options: CapacityOptions = {}): void {
    this.#disk.capacity = bytes
    this.#disk.partialOnFull = options.partial ?? false
  }

  /** Bytes the files take (current lengths, open-but-unlinked files included). */
  get usedBytes (): number {
    return this.#disk.used
  }

  /** Makes `open` throw EMFILE while `limit` handles are open (null: unlimited). */
  setOpenHandleLimit (limit: number | null): void {
    this.#maxOpenHandles = limit
  }

  /** Handles returned by `open` and not closed yet (a crash closes them all). */
  get openHandleCount (): number {
    return this.#disk.openHandles
  }

  /** A snapshot of the operation counters. */
  get stats (): MemoryFileSystemStats {
    return { ...this.#disk.stats }
  }

  resetStats (): void {
    this.#disk.stats = Disk.zeroStats()
  }

  // --- direct access, bypassing faults; changes hit the disk itself and survive a crash ---

  /** The current content of a file. */
  fileContent (path: string): Buffer {
    const file = this.#file(path)
    return Buffer.from(file.data.subarray(0, file.length))
  }

  /** What a crash without torn writes would leave at `path` (through durable entries). */
  durableContent (path: string): Buffer {
    if (!this.#disk.trackDurability) throw new Error('durableContent() needs a MemoryFileSystem with trackDurability')
    try {
      const node = walk(this.#disk.root, normalize(path), true)
      if (typeof node === 'string') throw errnoError(node, 'open', path)
      if (node.kind === 'dir') throw errnoError('EISDIR', 'read', path)
      return Buffer.from(node.durable.subarray(0, node.durableLength))
    } catch (error) {
      return wrap(error, 'read', path)
    }
  }

  /** Whether `path` would exist after a crash. */
  durableExists (path: string): boolean {
    return typeof walk(this.#disk.root, normalize(path), true) !== 'string'
  }

  /** Sets the byte at `position`, in the current and the durable content alike. */
  corrupt (path: string, position: number, byteValue: number): void {
    this.#editByte(path, position, () => byteValue & 0xff)
  }

  /** Flips the bits of `mask` (default all) of the byte at `position`. */
  flipByte (path: string, position: number, mask = 0xff): void {
    this.#editByte(path, position, (byte) => byte ^ (mask & 0xff))
  }

  /** Cuts (or zero-extends) a file, current and durable content alike. */
  truncateFile (path: string, length: number): void {
    const file = this.#file(path)
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`Bad length ${length}`)
    this.#disk.truncate(file, length)
    if (!this.#disk.trackDurability) return
    if (length < file.durableLength) {
      file.durableLength = length
    } else if (length > file.durableLength) {
      file.durable = grow(file.durable, file.durableLength, length)
      file.durable.fill(0, file.durableLength, length)
      // Current bytes there may be unsynced data; keep them in the hull so sync copies them.
      markDirty(file, file.durableLength, length)
      file.durableLength = length
    }
  }

  /**
   * Removes a file from the current and durable namespace. In strict mode this also makes the
   * parent directory's pending entries durable, as its order requires.
   */
  deleteFile (path: string): void {
    const disk = this.#disk
    try {
      const normalized = normalize(path)
      disk.lookupFile(normalized, 'unlink', path)
      const { dir, name } = disk.parentOf(normalized, 'unlink', path)
      disk.unlinkEntry(dir, name)
      disk.commitDir(dir)
    } catch (error) {
      wrap(error, 'unlink', path)
    }
  }

  /** Every path in the namespace (directories end with '/'), sorted; `durable` for after a crash. */
  list (options: { durable?: boolean | undefined } = {}): string[] {
    const durable = options.durable ?? false
    const out: string[] = []
    const visit = (dir: DirNode, prefix: string, seen: Set<Node>): void => {
      for (const [name, node] of durable ? dir.durable : dir.entries) {
        if (seen.has(node)) continue
        const path = `${prefix}${name}`
        if (node.kind === 'dir') {
          out.push(`${path}/`)
          visit(node, `${path}/`, new Set([...seen, node]))
        } else {
          out.push(path)
        }
      }
    }
    visit(this.#disk.root, '/', new Set([this.#disk.root]))
    return out.sort()
  }

  // --- internals ---

  #openForWrite (normalized: string, display: string): FileNode {
    const disk = this.#disk
    const existing = walk(disk.root, normalized, false)
    if (existing === 'ENOTDIR') throw errnoError('ENOTDIR', 'open', display)
    if (existing !== 'ENOENT') {
      if (existing.kind === 'dir') throw errnoError('EISDIR', 'open', display)
      return existing
    }
    const { dir, name } = disk.parentOf(normalized, 'open', display)
    const file = newFile()
    disk.link(dir, name, file)
    return file
  }

  #renameRaw (from: string, to: string): void {
    const disk = this.#disk
    const source = normalize(from)
    const target = normalize(to)
    disk.failIf('rename', source, 'rename', from, target, to)
    if (source === '/' || target === '/') throw errnoError('EBUSY', 'rename', from, to)
    // rename(2) resolves both parent directories before looking at either name.
    const src = this.#renameParent(source, from, to)
    const dst = this.#renameParent(target, from, to)
    const node = src.dir.entries.get(src.name)
    if (node === undefined) throw errnoError('ENOENT', 'rename', from, to)
    if (source === target) return
    // Moving a directory under itself, or over one of its ancestors.
    if (target.startsWith(`${source}/`)) throw errnoError('EINVAL', 'rename', from, to)
    if (source.startsWith(`${target}/`)) throw errnoError('ENOTEMPTY', 'rename', from, to)
    const existing = dst.dir.entries.get(dst.name)
    if (existing !== undefined) {
      if (existing.kind === 'dir' && node.kind === 'file') throw errnoError('EISDIR', 'rename', from, to)
      if (existing.kind === 'file' && node.kind === 'dir') throw errnoError('ENOTDIR', 'rename', from, to)
      if (existing.kind === 'dir' && existing.entries.size > 0) throw errnoError('ENOTEMPTY', 'rename', from, to)
    }
    disk.move(src.dir, src.name, dst.dir, dst.name)
  }

  #renameParent (normalized: string, from: string, to: string): { dir: DirNode, name: string } {
    const parent = walk(this.#disk.root, posix.dirname(normalized), false)
    if (typeof parent === 'string') throw errnoError(parent, 'rename', from, to)
    if (parent.kind !== 'dir') throw errnoError('ENOTDIR', 'rename', from, to)
    return { dir: parent, name: posix.basename(normalized) }
  }

  #file (path: string): FileNode {
    try {
      return this.#disk.lookupFile(normalize(path), 'open', path)
    } catch (error) {
      return wrap(error, 'read', path)
    }
  }

  #editByte (path: string, position: number, edit: (byte: number) => number): void {
    const file = this.#file(path)
    const inCurrent = position >= 0 && position < file.length
    const inDurable = this.#disk.trackDurability && position >= 0 && position < file.durableLength
    if (!Number.isSafeInteger(position) || (!inCurrent && !inDurable)) {
      throw new RangeError(`Position ${position} is outside '${path}' (${file.length} bytes)`)
    }
    if (inCurrent) file.data[position] = edit(file.data[position]!)
    if (inDurable) file.durable[position] = edit(file.durable[position]!)
  }
}
