/**
 * Installing a compacted segment in place of the segments it was cleaned from (the last step
 * of the log cleaner, Kafka's replaceSegments), and finishing or undoing an interrupted one
 * when a log is opened.
 *
 * Files, for old segments O0..Ok of a partition directory where B is O0's base offset:
 *
 *     <B>.log.cleaned <B>.index.cleaned <B>.timeindex.cleaned <B>.txnindex.cleaned
 *         written and fsynced by the cleaner (log-cleaner.ts); all four always exist (the
 *         txnindex may be empty). Same formats as a segment's files (log-segment.ts).
 *     <B>.index.swap <B>.timeindex.swap <B>.txnindex.swap, then <B>.log.swap
 *         the same files renamed; the rename of the `.log` comes last and is the commit
 *         point: once `<B>.log.swap` exists the new data wins.
 *
 * Steps (commitCleaned, then installSwap):
 *   1. rename the index files `.cleaned` -> `.swap`, then the log (commit);
 *   2. delete O1..Ok, every file of them, before anything takes O0's names, so no offset is
 *      ever in two live segments;
 *   3. rename the index `.swap` files over O0's, then `<B>.log.swap` over `<B>.log` (last);
 *      an empty `<B>.txnindex` is then removed (segments without aborted transactions have
 *      none).
 *
 * Crash behaviour (recoverSwaps, run by PartitionLog on open): `.cleaned` files are deleted.
 * Each `<B>.log.swap` is a committed swap and is finished: every segment whose base offset
 * lies in (B, next offset of the swap log) is deleted, the remaining `.swap` files of B are
 * renamed into place, the log last. Any other `.swap` file (an index renamed before a crash
 * that came before the commit) is deleted, leaving the old segments as they were. So a
 * crash at any point leaves the old segments or the new one, never both or neither.
 *
 * The range rule is exact because the cleaner always keeps the last batch of the old
 * segments (at least as an empty batch): the swap log then ends past the base offset of every
 * old segment holding data, and before the segment after the old ones. Old segments that were
 * empty and sit past that end may survive a crash; they hold no data.
 *
 * Renames and deletions are not fsynced one by one (neither does Kafka): directory entries
 * reach the disk in order on journaling file systems, and the caller fsyncs the directory
 * once the swap is done.
 */
import { join } from 'node:path'
import { LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, MIN_BATCH_LENGTH, readBaseOffset, readBatchLength } from '@samsa/protocol'
import type { FileSystem } from './file-system.ts'
import { INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX, offsetFileName } from './log-segment.ts'

export const CLEANED_FILE_SUFFIX = '.cleaned'
export const SWAP_FILE_SUFFIX = '.swap'

/** Index files first: the log file moves last in every step. */
const INDEX_SUFFIXES = [TXN_INDEX_SUFFIX, TIME_INDEX_SUFFIX, INDEX_SUFFIX] as const
const SEGMENT_SUFFIXES = [LOG_SUFFIX, ...INDEX_SUFFIXES] as const

/** The four files of the segment at `base`, log first. */
export function segmentPaths (dir: string, base: number): string[] {
  const prefix = join(dir, offsetFileName(base))
  return SEGMENT_SUFFIXES.map((s) => prefix + s)
}

/** The four `.cleaned` files the cleaner writes for a segment at `base`, log first. */
export function cleanedPaths (dir: string, base: number): { log: string, index: string, timeIndex: string, txnIndex: string } {
  const prefix = join(dir, offsetFileName(base))
  return {
    log: prefix + LOG_SUFFIX + CLEANED_FILE_SUFFIX,
    index: prefix + INDEX_SUFFIX + CLEANED_FILE_SUFFIX,
    timeIndex: prefix + TIME_INDEX_SUFFIX + CLEANED_FILE_SUFFIX,
    txnIndex: prefix + TXN_INDEX_SUFFIX + CLEANED_FILE_SUFFIX
  }
}

/**
 * Removes the `.cleaned` files of `base` (an abandoned compaction). Never `.swap` files: one
 * of those may be a committed swap, which the next open finishes.
 */
export function discardCleaned (fs: FileSystem, dir: string, base: number): void {
  for (const path of segmentPaths(dir, base)) fs.unlink(path + CLEANED_FILE_SUFFIX)
}

/**
 * Step 1: renames the cleaned files of `base` to `.swap`, the log last. When that fails
 * before the commit, removes what was renamed and rethrows: nothing changed.
 */
export function commitCleaned (fs: FileSystem, dir: string, base: number): void {
  const prefix = join(dir, offsetFileName(base))
  const swapLog = prefix + LOG_SUFFIX + SWAP_FILE_SUFFIX
  try {
    for (const suffix of INDEX_SUFFIXES) fs.rename(prefix + suffix + CLEANED_FILE_SUFFIX, prefix + suffix + SWAP_FILE_SUFFIX)
    fs.rename(prefix + LOG_SUFFIX + CLEANED_FILE_SUFFIX, swapLog)
  } catch (error) {
    // A rename that reports an error may still have happened: the file decides.
    if (fs.exists(swapLog)) return
    try {
      for (const suffix of INDEX_SUFFIXES) fs.unlink(prefix + suffix + SWAP_FILE_SUFFIX)
      discardCleaned(fs, dir, base)
    } catch {
      // The next open removes them.
    }
    throw error
  }
}

/**
 * Steps 2 and 3: deletes the segments at `doomed` base offsets, then renames the swap files
 * of `base` into place, the log last. Idempotent: safe to run again after a failure.
 */
export function installSwap (fs: FileSystem, dir: string, base: number, doomed: readonly number[]): void {
  for (const old of doomed) {
    // The log first: index files without their log are removed on open.
    for (const path of segmentPaths(dir, old)) fs.unlink(path)
  }
  const prefix = join(dir, offsetFileName(base))
  const swapLog = prefix + LOG_SUFFIX + SWAP_FILE_SUFFIX
  if (!fs.exists(swapLog)) return
  for (const suffix of INDEX_SUFFIXES) {
    const from = prefix + suffix + SWAP_FILE_SUFFIX
    if (fs.exists(from)) fs.rename(from, prefix + suffix)
  }
  fs.rename(swapLog, prefix + LOG_SUFFIX)
  const txnIndex = prefix + TXN_INDEX_SUFFIX
  if (fs.exists(txnIndex) && fs.size(txnIndex) === 0) fs.unlink(txnIndex)
}

/** The offset after the last batch of the log file at `path` whose first offset is `base`. */
export function nextOffsetOfLogFile (fs: FileSystem, path: string, base: number): number {
  const handle = fs.open(path, 'read')
  try {
    const size = handle.size()
    const head = Buffer.allocUnsafe(LAST_OFFSET_DELTA_OFFSET + 4)
    let next = base
    for (let at = 0; at + head.length <= size;) {
      if (handle.read(head, 0, head.length, at) !== head.length) break
      const length = readBatchLength(head, 0)
      if (length < MIN_BATCH_LENGTH || at + LOG_OVERHEAD + length > size) break
      next = readBaseOffset(head, 0) + head.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1
      at += LOG_OVERHEAD + length
    }
    return next
  } finally {
    handle.close()
  }
}

/**
 * Finishes every committed swap in `dir` and removes the leftovers of uncommitted ones (see
 * the header comment). Returns the base offsets of the swaps finished.
 */
export function recoverSwaps (fs: FileSystem, dir: string): number[] {
  for (const name of fs.readdir(dir)) {
    if (name.endsWith(CLEANED_FILE_SUFFIX)) fs.unlink(join(dir, name))
  }
  const finished: number[] = []
  const swapLogs = fs.readdir(dir)
    .map((n) => /^(\d{20})\.log\.swap$/.exec(n))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
  for (const base of swapLogs) {
    const next = nextOffsetOfLogFile(fs, join(dir, offsetFileName(base) + LOG_SUFFIX + SWAP_FILE_SUFFIX), base)
    const doomed = fs.readdir(dir)
      .map((n) => /^(\d{20})\.log$/.exec(n))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .filter((o) => o > base && o < next)
    installSwap(fs, dir, base, doomed)
    finished.push(base)
  }
  // Index files renamed before a crash that came before the commit.
  for (const name of fs.readdir(dir)) {
    if (name.endsWith(SWAP_FILE_SUFFIX)) fs.unlink(join(dir, name))
  }
  return finished
}
