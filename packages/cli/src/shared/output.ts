/**
 * Output for people and for scripts: aligned tables and titled sections (rpk's layout), or
 * one JSON document per command (one JSON line per record for `samsa consume`). 64-bit
 * values (offsets, producer ids) are JSON numbers when exact, strings beyond 2^53.
 */
import type { CommandIo } from '../io.ts'

/** JSON.stringify with bigints as numbers (exact ones) or strings. */
export function toJson (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'bigint') return v
    const n = Number(v)
    return Number.isSafeInteger(n) ? n : v.toString()
  })
}

export function printJson (io: CommandIo, value: unknown): void {
  io.stdout(toJson(value) + '\n')
}

export type Cell = string | number | bigint | boolean | null | undefined

function cellText (cell: Cell): string {
  if (cell === null || cell === undefined) return '-'
  return String(cell)
}

/** Columns separated by two spaces, upper-case headers, no trailing spaces. */
export function formatTable (headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(cellText))]
  const widths = headers.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length)))
  return text.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n'
}

/** Aligned `name  value` lines. */
export function formatPairs (pairs: ReadonlyArray<readonly [string, Cell]>): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${cellText(v)}`.trimEnd()).join('\n') + '\n'
}

/** A titled block: the title, a rule under it, the body. */
export function formatSection (title: string, body: string): string {
  return `${title.toUpperCase()}\n${'='.repeat(title.length)}\n${body}`
}

/** Sections separated by blank lines. */
export function joinSections (sections: readonly string[]): string {
  return sections.join('\n')
}

/** Milliseconds since the epoch as an ISO date, '-' for -1. */
export function formatTime (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-'
  return new Date(ms).toISOString()
}
