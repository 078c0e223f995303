/**
 * All partition logs under one data directory (Kafka's LogManager).
 *
 * Data directory layout (Kafka's names):
 *
 *     <data>/<topic>-<partition>/            one directory per partition (partition-log.ts)
 *     <data>/recovery-point-offset-checkpoint  offsets below which each log is fsynced
 *     <data>/log-start-offset-checkpoint     each log's start offset
 *     <data>/cleaner-offset-checkpoint       each compacted log's first dirty offset (log-cleaner.ts)
 *     <data>/.kafka_cleanshutdown            present only after a clean shutdown
 *     <data>/<topic>-<partition>.<id>-delete a partition being deleted (removed on start)
 *
 * The clean-shutdown marker is removed as soon as the logs are loaded, so a crash at any later
 * point makes the next start validate every log past its recovery point. Checkpoints are
 * written atomically (checkpoint-file.ts).
 */
import { join } from 'node:path'
import { type CheckpointFile, type PartitionOffset, partitionOffsetCheckpoint } from './checkpoint-file.ts'
import { StorageError, StorageErrorCode } from './errors.ts'
import { type FileSystem, NodeFileSystem } from './file-system.ts'
import { HandlePool } from './handle-pool.ts'
import { LogCleaner, type LogCleanerOptions } from './log-cleaner.ts'
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.ts'
import { DELETE_DIR_SUFFIX, PartitionLog, type RecoveryReport } from './partition-log.ts'
import { DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS, type ProducerStateConfig } from './producer-state/producer-state-manager.ts'

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown'
export const RECOVERY_POINT_CHECKPOINT = 'recovery-point-offset-checkpoint'
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint'

export interface LogManagerOptions {
  dataDir: string
  fs?: FileSystem
  /** Upper bound on open files across all logs (default 2048). */
  maxOpenFiles?: number
  /** The config of a topic's logs; defaults to Kafka's defaults. */
  configFor?: (topic: string) => LogConfig
  clock?: () => number
  /** How often flush.ms is checked (ms, default 1000). */
  flushCheckIntervalMs?: number
  /** `log.retention.check.interval.ms` (default 300000). */
  retentionCheckIntervalMs?: number
  /** `log.flush.offset.checkpoint.interval.ms` (default 60000). */
  checkpointIntervalMs?: number
  /** Called for every background failure (they must not crash the process). */
  onError?: (error: unknown, context: string) => void
  /** `log.cleaner.enable`: compact logs with a `compact` cleanup policy (default true). */
  cleanerEnable?: boolean
  /** The cleaner's settings (`log.cleaner.backoff.ms`, `log.cleaner.dedupe.buffer.size`, ...). */
  cleaner?: Omit<LogCleanerOptions, 'fs' | 'pool' | 'dataDir' | 'logs' | 'clock' | 'onError'>
  /** Producer-state settings of every log (`producer.id.expiration.ms`). */
  producerState?: ProducerStateConfig
  /** `producer.id.expiration.check.interval.ms` (default 600000). */
  producerIdExpirationCheckIntervalMs?: number
}

export interface LoadReport {
  logs: number
  clean: boolean
  recovered: RecoveryReport
  durationMs: number
}

/** Parses `<topic>-<partition>`; topics may contain '-' themselves. */
export function parsePartitionDir (name: string): { topic: string, partition: number } | undefined {
  const m = /^(.+)-(\d+)$/.exec(name)
  if (m === null) return undefined
  return { topic: m[1]!, partition: Number(m[2]) }
}

export class LogManager {
  readonly dataDir: string
  readonly fs: FileSystem
  readonly pool: HandlePool
  readonly loadReport: LoadReport
  readonly #logs = new Map<string, PartitionLog>()
  readonly #configFor: (topic: string) => LogConfig
  readonly #clock: () => number
  readonly #options: LogManagerOptions
  readonly #recoveryCheckpoint: CheckpointFile<PartitionOffset>
  readonly #startCheckpoint: CheckpointFile<PartitionOffset>
  #timers: NodeJS.Timeout[] = []
  #closed = false
  #cleaner: LogCleaner | undefined
  /** The checkpoint write under way: writes share a temporary file, so they run one at a time. */
  #checkpointing: Promise<void> = Promise.resolve()

  private constructor (options: LogManagerOptions) {
    this.#options = options
    this.dataDir = options.dataDir
    this.fs = options.fs ?? new NodeFileSystem()
    this.pool = new HandlePool(this.fs, options.maxOpenFiles ?? 2048)
    this.#configFor = options.configFor ?? (() => DEFAULT_LOG_CONFIG)
    this.#clock = options.clock ?? Date.now
    this.#recoveryCheckpoint = partitionOffsetCheckpoint(this.fs, join(this.dataDir, RECOVERY_POINT_CHECKPOINT))
    this.#startCheckpoint = partitionOffsetCheckpoint(this.fs, join(this.dataDir, LOG_START_OFFSET_CHECKPOINT))
    this.loadReport = { logs: 0, clean: true, recovered: { recoveredSegments: 0, truncatedBytes: 0, corruptBatches: 0 }, durationMs: 0 }
  }

  /** Loads every log in the data directory, recovering them after an unclean shutdown. */
  static async open (options: LogManagerOptions): Promise<LogManager> {
    const manager = new LogManager(options)
    await manager.#load()
    if (options.cleanerEnable ?? true) {
      manager.#cleaner = new LogCleaner({
        // Producer state decides which producers' last batches compaction must keep (Kafka's rule).
        activeProducers: (log) => log.producerState.lastRecords(),
        ...options.cleaner,
        fs: manager.fs,
        pool: manager.pool,
        dataDir: manager.dataDir,
        logs: () => manager.#logs.values(),
        clock: manager.#clock,
        onError: (error, context) => manager.#report(error, context)
      })
    }
    return manager
  }

  /** The log cleaner (compaction), unless disabled; started by startBackgroundTasks. */
  get cleaner (): LogCleaner | undefined {
    return this.#cleaner
  }

  static key (topic: string, partition: number): string {
    return `${topic}-${partition}`
  }

  get size (): number {
    return this.#logs.size
  }

  logs (): IterableIterator<PartitionLog> {
    return this.#logs.values()
  }

  getLog (topic: string, partition: number): PartitionLog | undefined {
    return this.#logs.get(LogManager.key(topic, partition))
  }

  /** The log of a partition, created (empty, at offset 0) if it does not exist. */
  getOrCreateLog (topic: string, partition: number, config?: LogConfig): PartitionLog {
    this.#checkOpen()
    const key = LogManager.key(topic, partition)
    const existing = this.#logs.get(key)
    if (existing !== undefined) return existing
    const log = PartitionLog.open({
      fs: this.fs,
      pool: this.pool,
      dir: join(this.dataDir, key),
      topic,
      partition,
      config: config ?? this.#configFor(topic),
      clean: true,
      clock: this.#clock,
      ...(this.#options.producerState === undefined ? {} : { producerState: this.#options.producerState })
    })
    this.#logs.set(key, log)
    return log
  }

  /** Removes a partition's log and files (topic deletion). */
  async deleteLog (topic: string, partition: number): Promise<boolean> {
    const key = LogManager.key(topic, partition)
    const log = this.#logs.get(key)
    if (log === undefined) return false
    this.#logs.delete(key)
    await this.#cleaner?.removeLog(log)
    await log.delete()
    return true
  }

  /** Writes the recovery-point and log-start-offset checkpoints. */
  async checkpoint (): Promise<void> {
    const run = this.#checkpointing.then(async () => {
      // Closed logs too: close() checkpoints after closing them. Deleted ones are no longer here.
      const logs = [...this.#logs.values()]
      await this.#recoveryCheckpoint.write(logs.map((l) => ({ topic: l.topic, partition: l.partition, offset: l.recoveryPoint })))
      await this.#startCheckpoint.write(logs.map((l) => ({ topic: l.topic, partition: l.partition, offset: l.logStartOffset })))
    })
    this.#checkpointing = run.catch(() => undefined)
    await run
  }

  /** Applies retention to every log; returns the number of segments deleted. */
  runRetention (): number {
    let deleted = 0
    for (const log of this.#logs.values()) {
      try {
        deleted += log.deleteOldSegments()
      } catch (error) {
        this.#report(error, `retention of ${log.topic}-${log.partition}`)
      }
    }
    return deleted
  }

  /** Forgets idle producers of every log (`producer.id.expiration.ms`); returns how many. */
  removeExpiredProducers (): number {
    const now = this.#clock()
    let n = 0
    for (const log of this.#logs.values()) if (!log.closed) n += log.removeExpiredProducers(now)
    return n
  }

  /** Flushes logs whose `flush.ms` has elapsed. */
  async flushDue (): Promise<void> {
    const now = this.#clock()
    const due = [...this.#logs.values()].filter((l) => !l.closed && l.flushDue(now))
    await Promise.all(due.map(async (l) => await l.flush().catch((error: unknown) => this.#report(error, `flush of ${l.topic}-${l.partition}`))))
  }

  /** Starts the periodic flush, retention and checkpoint tasks (unref'd timers). */
  startBackgroundTasks (): void {
    const every = (ms: number, task: () => unknown, context: string): void => {
      const timer = setInterval(() => {
        Promise.resolve().then(task).catch((error: unknown) => this.#report(error, context))
      }, ms)
      timer.unref()
      this.#timers.push(timer)
    }
    every(this.#options.flushCheckIntervalMs ?? 1000, async () => await this.flushDue(), 'flush')
    every(this.#options.retentionCheckIntervalMs ?? 300000, () => this.runRetention(), 'retention')
    every(this.#options.checkpointIntervalMs ?? 60000, async () => await this.checkpoint(), 'checkpoint')
    every(this.#options.producerIdExpirationCheckIntervalMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS, () => this.removeExpiredProducers(), 'producer expiration')
    this.#cleaner?.start()
  }

  /** Flushes and closes every log, checkpoints, and writes the clean-shutdown marker. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    // A compaction pass under way is abandoned cleanly before the logs close.
    await this.#cleaner?.stop()
    await Promise.all([...this.#logs.values()].map(async (l) => await l.close()))
    await this.checkpoint()
    this.pool.closeAll()
    await this.fs.writeFileAtomic(join(this.dataDir, CLEAN_SHUTDOWN_FILE), Buffer.alloc(0))
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError(StorageErrorCode.CLOSED, 'The log manager is closed')
  }

  #report (error: unknown, context: string): void {
    this.#options.onError?.(error, context)
  }

  async #load (): Promise<void> {
    const started = performance.now()
    const fs = this.fs
    fs.mkdir(this.dataDir)
    const markerPath = join(this.dataDir, CLEAN_SHUTDOWN_FILE)
    const clean = fs.exists(markerPath)
    const recoveryPoints = new Map(this.#recoveryCheckpoint.read().map((e) => [LogManager.key(e.topic, e.partition), e.offset]))
    const startOffsets = new Map(this.#startCheckpoint.read().map((e) => [LogManager.key(e.topic, e.partition), e.offset]))
    for (const name of fs.readdir(this.dataDir)) {
      if (name.endsWith(DELETE_DIR_SUFFIX)) {
        // A deletion interrupted by a crash: finish it.
        fs.rmdir(join(this.dataDir, name))
        continue
      }
      const parsed = parsePartitionDir(name)
      if (parsed === undefined) continue
      const dir = join(this.dataDir, name)
      if (!this.#isDirectory(dir)) continue
      const log = PartitionLog.open({
        fs,
        pool: this.pool,
        dir,
        topic: parsed.topic,
        partition: parsed.partition,
        config: this.#configFor(parsed.topic),
        clean,
        clock: this.#clock,
        ...(this.#options.producerState === undefined ? {} : { producerState: this.#options.producerState }),
        ...(recoveryPoints.has(name) ? { recoveryPoint: recoveryPoints.get(name)! } : {}),
        ...(startOffsets.has(name) ? { logStartOffset: startOffsets.get(name)! } : {})
      })
      this.#logs.set(name, log)
      const r = this.loadReport.recovered
      r.recoveredSegments += log.recovery.recoveredSegments
      r.truncatedBytes += log.recovery.truncatedBytes
      r.corruptBatches += log.recovery.corruptBatches
    }
    // From here on a crash is an unclean shutdown.
    if (clean) fs.unlink(markerPath)
    await this.checkpoint()
    Object.assign(this.loadReport, { logs: this.#logs.size, clean, durationMs: performance.now() - started })
  }

  #isDirectory (path: string): boolean {
    try {
      this.fs.readdir(path)
      return true
    } catch {
      return false
    }
  }
}
