/**
 * What `samsa produce` reads: lines (a value, or a key and a value around a separator), or
 * JSON objects, one per line, with key, value, headers, partition and timestamp. Bytes in
 * JSON are strings (sent as UTF-8) or `{ "base64": "..." }`, as `samsa consume --output json`
 * prints them; any other JSON value is sent as its JSON text.
 */
import type { ProducerRecord } from '@samsa/client'
import { CliError } from '../shared/errors.ts'

const NEWLINE = 0x0a
const CR = 0x0d

/** Splits a byte stream into lines (without '\n' or a trailing '\r'); a final newline ends the last line. */
export async function * readLines (chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>): AsyncGenerator<Buffer, void, undefined> {
  let pending: Buffer = Buffer.alloc(0)
  for await (const chunk of chunks) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    let buf = pending.length === 0 ? bytes : Buffer.concat([pending, bytes])
    let nl = buf.indexOf(NEWLINE)
    while (nl >= 0) {
      const end = nl > 0 && buf[nl - 1] === CR ? nl - 1 : nl
      yield buf.subarray(0, end)
      buf = buf.subarray(nl + 1)
      nl = buf.indexOf(NEWLINE)
    }
    // Copy the rest: the chunk's memory may be reused by the stream.
    pending = Buffer.from(buf)
  }
  if (pending.length > 0) yield pending[pending.length - 1] === CR ? pending.subarray(0, -1) : pending
}

export interface LineRecord {
  key: Buffer | null
  value: Buffer
}

/** A text line: the whole line is the value, or with a separator the part before it is the key. */
export function parseTextLine (line: Buffer, keySeparator: Buffer | null): LineRecord {
  if (keySeparator === null) return { key: null, value: line }
  const at = line.indexOf(keySeparator)
  // No separator: the whole line is the value, without a key.
  if (at < 0) return { key: null, value: line }
  return { key: line.subarray(0, at), value: line.subarray(at + keySeparator.length) }
}

type JsonBytes = string | Buffer | null

function jsonBytes (value: unknown, what: string, lineNo: number): JsonBytes {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>
    const keys = Object.keys(o)
    if (keys.length === 1 && typeof o.base64 === 'string') return Buffer.from(o.base64, 'base64')
  }
  if (what === 'value') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw new CliError(`line ${lineNo}: ${what} must be a string, null or {"base64": "..."}`)
}

function jsonHeaders (value: unknown, lineNo: number): Array<{ key: string, value: JsonBytes }> {
  if (value === undefined || value === null) return []
  if (Array.isArray(value)) {
    return value.map((h: unknown) => {
      const o = h as { key?: unknown, value?: unknown } | null
      if (typeof o !== 'object' || o === null || typeof o.key !== 'string') throw new CliError(`line ${lineNo}: each header must be {"key": "...", "value": ...}`)
      return { key: o.key, value: jsonBytes(o.value, `header '${o.key}'`, lineNo) }
    })
  }
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: jsonBytes(v, `header '${key}'`, lineNo) }))
  }
  throw new CliError(`line ${lineNo}: headers must be an object or a list of {"key", "value"}`)
}

export interface JsonRecord {
  key: JsonBytes
  value: JsonBytes
  headers: Array<{ key: string, value: JsonBytes }>
  partition: number | undefined
  timestamp: number | undefined
}

/** One JSON line: `{"key": "k", "value": "v", "headers": {"h": "x"}, "partition": 0, "timestamp": 1718000000000}`. */
export function parseJsonLine (line: string, lineNo: number): JsonRecord {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch (error) {
    throw new CliError(`line ${lineNo}: invalid JSON (${(error as Error).message})`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`line ${lineNo}: expected a JSON object with key, value, headers, partition or timestamp`)
  const o = parsed as Record<string, unknown>
  const unknown = Object.keys(o).filter((k) => !['key', 'value', 'headers', 'partition', 'timestamp', 'topic', 'offset', 'timestampType'].includes(k))
  if (unknown.length > 0) throw new CliError(`line ${lineNo}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`)
  let partition: number | undefined
  if (o.partition !== undefined && o.partition !== null) {
    if (typeof o.partition !== 'number' || !Number.isInteger(o.partition) || o.partition < 0) throw new CliError(`line ${lineNo}: partition must be a non-negative integer`)
    partition = o.partition
  }
  let timestamp: number | undefined
  if (o.timestamp !== undefined && o.timestamp !== null) {
    const t = typeof o.timestamp === 'string' ? Date.parse(o.timestamp) : o.timestamp
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw new CliError(`line ${lineNo}: timestamp must be milliseconds since the epoch or an ISO date`)
    timestamp = t
  }
  return { key: jsonBytes(o.key, 'key', lineNo), value: jsonBytes(o.value, 'value', lineNo), headers: jsonHeaders(o.headers, lineNo), partition, timestamp }
}

/** The producer record for a parsed JSON line. */
export function jsonToRecord (topic: string, r: JsonRecord, extraHeaders: ReadonlyArray<{ key: string, value: string }>, partition: number | undefined): ProducerRecord {
  const headers = [...r.headers, ...extraHeaders]
  return {
    topic,
    key: r.key,
    value: r.value,
    ...(headers.length === 0 ? {} : { headers }),
    ...(r.partition ?? partition) === undefined ? {} : { partition: r.partition ?? partition },
    ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp })
  }
}
