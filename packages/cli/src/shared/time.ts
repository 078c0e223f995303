/** Timestamps given on the command line: milliseconds since the epoch or an ISO 8601 date. */
import { UsageError } from './errors.ts'

/**
 * Parses `1718000000000` (ms since the epoch) or an ISO date (`2024-06-10`,
 * `2024-06-10T12:00:00Z`; without a zone, local time as Date.parse reads it).
 */
export function parseTimestamp (text: string, what: string): number {
  const trimmed = text.trim()
  if (/^\d+$/.test(trimmed)) {
    const ms = Number(trimmed)
    if (Number.isSafeInteger(ms)) return ms
  }
  const ms = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : NaN
  if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`invalid ${what} '${text}' (expected milliseconds since the epoch or an ISO date such as 2024-06-10T12:00:00Z)`)
  return ms
}
