/**
 * The live progress line of the perf commands: redrawn in place with '\r' once a second, and
 * only when stdout is a terminal (io.isTTY), so pipes and logs get just the final summary.
 */
import { clearInterval, setInterval } from 'node:timers'
import type { CommandIo } from '../io.ts'

export class ProgressLine {
  readonly #io: CommandIo
  readonly #render: () => string
  #timer: ReturnType<typeof setInterval> | null = null
  #width = 0

  constructor (io: CommandIo, render: () => string, intervalMs = 1000) {
    this.#io = io
    this.#render = render
    if (io.isTTY === true) {
      this.#timer = setInterval(() => this.#draw(), intervalMs)
      this.#timer.unref()
    }
  }

  #draw (): void {
    const line = this.#render()
    this.#io.stdout(`\r${line.padEnd(this.#width)}`)
    this.#width = line.length
  }

  /** Stops redrawing and clears the line. */
  stop (): void {
    if (this.#timer === null) return
    clearInterval(this.#timer)
    this.#timer = null
    if (this.#width > 0) this.#io.stdout(`\r${' '.repeat(this.#width)}\r`)
  }
}

/** 12345.6 → '12,345.6'. */
export function formatRate (n: number, digits = 1): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export const MB = 1024 * 1024
