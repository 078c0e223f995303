/**
 * Timers for the group coordinator (session and rebalance timeouts, delayed joins, offset
 * expiry). Production code uses unref'd `setTimeout`s, so a pending timer never keeps the
 * process alive; tests inject a ManualScheduler and move time by hand, which makes expiry
 * deterministic.
 */

export interface TimerHandle {
  cancel (): void
}

export interface Scheduler {
  /** Runs `fn` once, `delayMs` from now (0 or less: on a later turn of the event loop). */
  schedule (delayMs: number, fn: () => void): TimerHandle
}

export const timerScheduler: Scheduler = {
  schedule (delayMs, fn) {
    const timer = setTimeout(fn, Math.max(0, delayMs))
    timer.unref()
    return { cancel: () => clearTimeout(timer) }
  }
}

/** Timers by key: scheduling a key again replaces its timer (Kafka's CoordinatorTimer). */
export class KeyedTimers {
  readonly #scheduler: Scheduler
  readonly #timers = new Map<string, TimerHandle>()

  constructor (scheduler: Scheduler) {
    this.#scheduler = scheduler
  }

  schedule (key: string, delayMs: number, fn: () => void): void {
    this.#timers.get(key)?.cancel()
    const handle = this.#scheduler.schedule(delayMs, () => {
      if (this.#timers.get(key) !== handle) return
      this.#timers.delete(key)
      fn()
    })
    this.#timers.set(key, handle)
  }

  has (key: string): boolean {
    return this.#timers.has(key)
  }

  cancel (key: string): void {
    const handle = this.#timers.get(key)
    if (handle === undefined) return
    handle.cancel()
    this.#timers.delete(key)
  }

  cancelAll (): void {
    for (const handle of this.#timers.values()) handle.cancel()
    this.#timers.clear()
  }

  get size (): number {
    return this.#timers.size
  }
}

interface ManualTask {
  due: number
  seq: number
  fn: () => void
  cancelled: boolean
}

/**
 * A scheduler driven by hand, with its own clock: `advance(ms)` runs every task that falls due,
 * in due-time order (tasks scheduled while advancing run too if they fall due in the window).
 */
export class ManualScheduler implements Scheduler {
  #now: number
  #seq = 0
  #tasks: ManualTask[] = []

  constructor (start = 0) {
    this.#now = start
  }

  /** The scheduler's clock, for the coordinator's `clock` option. */
  readonly clock = (): number => this.#now

  schedule (delayMs: number, fn: () => void): TimerHandle {
    const task: ManualTask = { due: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false }
    this.#tasks.push(task)
    return { cancel: () => { task.cancelled = true } }
  }

  /** Moves time forward by `ms`, running the tasks that fall due. */
  advance (ms: number): void {
    const end = this.#now + ms
    for (;;) {
      this.#tasks = this.#tasks.filter((t) => !t.cancelled)
      let next: ManualTask | undefined
      for (const t of this.#tasks) {
        if (t.due <= end && (next === undefined || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t
      }
      if (next === undefined) break
      this.#tasks.splice(this.#tasks.indexOf(next), 1)
      this.#now = Math.max(this.#now, next.due)
      next.fn()
    }
    this.#now = end
  }

  get pending (): number {
    return this.#tasks.filter((t) => !t.cancelled).length
  }
}
