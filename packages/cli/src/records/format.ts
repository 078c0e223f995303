/**
 * How `samsa consume` prints records: a text template ({{key}} {{value}} {{offset}}...),
 * JSON lines, or a hex dump. In JSON, keys, values and header values are strings when they
 * are valid UTF-8 and `{ "base64": "..." }` otherwise, so nothing is lost; `samsa produce
 * --json` reads the same shapes back.
 */
import { isUtf8 } from 'node:buffer'
import { UsageError } from '../shared/errors.ts'
import { toJson } from '../shared/output.ts'
import type { ConsumedRecord } from './reader.ts'

export type RecordFormatter = (record: ConsumedRecord) => string

/** A JSON value for bytes: text when valid UTF-8, else base64. */
export function bytesToJson (bytes: Buffer | null): string | { base64: string } | null {
  if (bytes === null) return null
  return isUtf8(bytes) ? bytes.toString('utf8') : { base64: bytes.toString('base64') }
}

export function recordToJson (r: ConsumedRecord): unknown {
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    timestampType: r.timestampType,
    key: bytesToJson(r.key),
    value: bytesToJson(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: bytesToJson(h.value) }))
  }
}

export const TEMPLATE_FIELDS = ['topic', 'partition', 'offset', 'timestamp', 'time', 'timestampType', 'key', 'value', 'headers'] as const

type Part = string | ((r: ConsumedRecord) => string)

function text (bytes: Buffer | null): string {
  return bytes === null ? '' : bytes.toString('utf8')
}

function field (name: string): (r: ConsumedRecord) => string {
  if (name.startsWith('header.')) {
    const key = name.slice('header.'.length)
    return (r) => text(r.headers.find((h) => h.key === key)?.value ?? null)
  }
  switch (name) {
    case 'topic': return (r) => r.topic
    case 'partition': return (r) => String(r.partition)
    case 'offset': return (r) => r.offset.toString()
    case 'timestamp': return (r) => String(r.timestamp)
    case 'time': return (r) => r.timestamp >= 0 ? new Date(r.timestamp).toISOString() : ''
    case 'timestampType': return (r) => r.timestampType
    case 'key': return (r) => text(r.key)
    case 'value': return (r) => text(r.value)
    case 'headers': return (r) => r.headers.map((h) => `${h.key}=${text(h.value)}`).join(',')
    default:
      throw new UsageError(`unknown field '{{${name}}}' in --template (known: ${TEMPLATE_FIELDS.map((f) => `{{${f}}}`).join(' ')} {{header.<name>}})`)
  }
}

/** Backslash escapes in templates: \n, \t, \r, \\. */
function unescape (s: string): string {
  return s.replace(/\\([ntr\\])/g, (_m, c: string) => c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : '\\')
}

/** Compiles a template; each record prints as the template followed by a newline. */
export function compileTemplate (template: string): RecordFormatter {
  const parts: Part[] = []
  const re = /\{\{\s*([\w.-]+)\s*\}\}/g
  let last = 0
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    if (m.index > last) parts.push(unescape(template.slice(last, m.index)))
    parts.push(field(m[1]!))
    last = m.index + m[0].length
  }
  if (last < template.length) parts.push(unescape(template.slice(last)))
  return (r) => {
    let out = ''
    for (const p of parts) out += typeof p === 'string' ? p : p(r)
    return out + '\n'
  }
}

/** `xxd`-style lines: offset, 16 bytes in hex, the printable characters. */
export function hexDump (bytes: Buffer): string {
  let out = ''
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16)
    let hex = ''
    for (let i = 0; i < 16; i++) hex += (i < row.length ? row[i]!.toString(16).padStart(2, '0') : '  ') + (i === 7 ? '  ' : ' ')
    let ascii = ''
    for (const b of row) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'
    out += `${at.toString(16).padStart(8, '0')}  ${hex} |${ascii}|\n`
  }
  return out
}

function hexBlock (label: string, bytes: Buffer | null): string {
  if (bytes === null) return `${label}: null\n`
  return `${label} (${bytes.length} byte${bytes.length === 1 ? '' : 's'})\n${hexDump(bytes)}`
}

export function formatHex (r: ConsumedRecord): string {
  return `topic ${r.topic} partition ${r.partition} offset ${r.offset} timestamp ${r.timestamp}\n` +
    hexBlock('key', r.key) +
    hexBlock('value', r.value) +
    r.headers.map((h) => hexBlock(`header '${h.key}'`, h.value)).join('') +
    '\n'
}

export type OutputKind = 'text' | 'json' | 'hex'

export function recordFormatter (output: OutputKind, template: string): RecordFormatter {
  switch (output) {
    case 'text': return compileTemplate(template)
    case 'json': return (r) => toJson(recordToJson(r)) + '\n'
    case 'hex': return formatHex
  }
}
