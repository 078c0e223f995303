/**
 * Kafka's text checkpoint files (`recovery-point-offset-checkpoint`,
 * `log-start-offset-checkpoint`, `leader-epoch-checkpoint`, ...).
 *
 * Format (CheckpointFile.java), one item per line:
 *
 *     0                 <- version
 *     2                 <- number of entries
 *     orders 0 1234     <- entries, fields separated by single spaces
 *     orders 1 99
 *
 * Written with writeFileAtomic (temporary file, fsync, rename, fsync of the directory), so a
 * crash leaves the previous or the new checkpoint, never a mix. A file that does not parse is
 * reported as CORRUPT rather than silently ignored.
 */
import { StorageError, StorageErrorCode } from './errors.ts'
import type { FileSystem } from './file-system.ts'

export const CHECKPOINT_VERSION = 0

export class CheckpointFile<T> {
  readonly path: string
  readonly #fs: FileSystem
  readonly #format: (entry: T) => string
  readonly #parse: (fields: string[]) => T | undefined

  constructor (fs: FileSystem, path: string, format: (entry: T) => string, parse: (fields: string[]) => T | undefined) {
    this.#fs = fs
    this.path = path
    this.#format = format
    this.#parse = parse
  }

  async write (entries: readonly T[]): Promise<void> {
    const lines = [String(CHECKPOINT_VERSION), String(entries.length), ...entries.map(this.#format)]
    await this.#fs.writeFileAtomic(this.path, Buffer.from(lines.join('\n') + '\n'))
  }

  /** The entries, or an empty list when the file does not exist. */
  read (): T[] {
    if (!this.#fs.exists(this.path)) return []
    const lines = this.#fs.readFile(this.path).toString('utf8').split('\n')
    if (lines.at(-1) === '') lines.pop()
    const corrupt = (why: string): never => {
      throw new StorageError(StorageErrorCode.CORRUPT, `Malformed checkpoint file '${this.path}': ${why}`, { path: this.path })
    }
    if (lines[0] !== String(CHECKPOINT_VERSION)) corrupt(`unknown version '${lines[0] ?? ''}'`)
    const count = Number(lines[1])
    if (!Number.isInteger(count) || count < 0) corrupt(`bad entry count '${lines[1] ?? ''}'`)
    if (lines.length !== count + 2) corrupt(`expected ${count} entries, found ${lines.length - 2}`)
    const entries: T[] = []
    for (let i = 2; i < lines.length; i++) {
      const entry = this.#parse(lines[i]!.split(' '))
      if (entry === undefined) corrupt(`bad line ${i + 1} '${lines[i]!}'`)
      entries.push(entry!)
    }
    return entries
  }
}

/** An offset per topic-partition: `<topic> <partition> <offset>`. */
export interface PartitionOffset {
  topic: string
  partition: number
  offset: number
}

function parseInteger (text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d+$/.test(text)) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : undefined
}

export function partitionOffsetCheckpoint (fs: FileSystem, path: string): CheckpointFile<PartitionOffset> {
  return new CheckpointFile<PartitionOffset>(fs, path,
    (e) => `${e.topic} ${e.partition} ${e.offset}`,
    (fields) => {
      if (fields.length !== 3 || fields[0] === '') return undefined
      const partition = parseInteger(fields[1])
      const offset = parseInteger(fields[2])
      if (partition === undefined || offset === undefined) return undefined
      return { topic: fields[0]!, partition, offset }
    })
}

/** `<epoch> <startOffset>` entries of `leader-epoch-checkpoint`. */
export interface EpochEntry {
  epoch: number
  startOffset: number
}

export function leaderEpochCheckpoint (fs: FileSystem, path: string): CheckpointFile<EpochEntry> {
  return new CheckpointFile<EpochEntry>(fs, path,
    (e) => `${e.epoch} ${e.startOffset}`,
    (fields) => {
      if (fields.length !== 2) return undefined
      const epoch = parseInteger(fields[0])
      const startOffset = parseInteger(fields[1])
      if (epoch === undefined || startOffset === undefined) return undefined
      return { epoch, startOffset }
    })
}
