/**
 * Reads Apache Kafka's JSON message specifications into a typed model for the generator.
 * The JSON allows `//` line comments; they are stripped with a string-aware scan.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/** An inclusive version range; `max` is Infinity for open ranges ("3+"). */
export interface Range {
  min: number
  max: number
}

export const OPEN = Number.POSITIVE_INFINITY

export function parseRange (text: string | undefined): Range | null {
  if (text === undefined || text === 'none') return null
  const plus = /^(\d+)\+$/.exec(text)
  if (plus) return { min: Number(plus[1]), max: OPEN }
  const span = /^(\d+)-(\d+)$/.exec(text)
  if (span) return { min: Number(span[1]), max: Number(span[2]) }
  const single = /^(\d+)$/.exec(text)
  if (single) return { min: Number(single[1]), max: Number(single[1]) }
  throw new Error(`Bad version range '${text}'`)
}

export function intersect (a: Range | null, b: Range | null): Range | null {
  if (a === null || b === null) return null
  const min = Math.max(a.min, b.min)
  const max = Math.min(a.max, b.max)
  return min <= max ? { min, max } : null
}

export function covers (outer: Range | null, inner: Range | null): boolean {
  if (inner === null) return true
  if (outer === null) return false
  return outer.min <= inner.min && outer.max >= inner.max
}

export type PrimitiveType = 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float64' |
  'string' | 'uuid' | 'bytes' | 'records'

export const PRIMITIVES: ReadonlySet<string> = new Set([
  'bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'uuid', 'bytes', 'records'
])

export interface RawField {
  name: string
  type: string
  versions: string
  nullableVersions?: string
  taggedVersions?: string
  tag?: number
  default?: string | number | boolean
  ignorable?: boolean
  flexibleVersions?: string
  fields?: RawField[]
  zeroCopy?: boolean
  about?: string
  entityType?: string
  mapKey?: boolean
}

export interface RawMessage {
  apiKey?: number
  type: 'request' | 'response' | 'header' | 'data'
  name: string
  validVersions: string
  flexibleVersions: string
  deprecatedVersions?: string
  latestVersionUnstable?: boolean
  listeners?: string[]
  fields: RawField[]
  commonStructs?: Array<{ name: string, versions: string, fields: RawField[] }>
}

/** Removes `//` comments outside of string literals. */
export function stripComments (text: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      out += c
      if (c === '\\') {
        out += text[++i] ?? ''
      } else if (c === '"') {
        inString = false
      }
    } else if (c === '"') {
      inString = true
      out += c
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      out += '\n'
    } else {
      out += c
    }
  }
  return out
}

export function loadSpecs (dir: string): Map<string, RawMessage> {
  const specs = new Map<string, RawMessage>()
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const message = JSON.parse(stripComments(readFileSync(join(dir, file), 'utf8'))) as RawMessage
    specs.set(message.name, message)
  }
  return specs
}
