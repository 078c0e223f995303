/** Runs `samsa` commands in process with a fake io and collects what they print. */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { type CommandIo, run } from '../src/mod.ts'

export interface FakeIo extends CommandIo {
  readonly out: string[]
  readonly err: string[]
  /** Delivers a signal to the handlers the command registered. */
  signal (s: 'SIGINT' | 'SIGTERM'): void
}

export interface FakeIoOptions {
  env?: Record<string, string>
  /** What the command reads from stdin. */
  stdin?: string | Buffer | AsyncIterable<Uint8Array | string>
  isTTY?: boolean
  files?: Record<string, string | Buffer>
}

/** Stdin as a stream delivers it: in chunks (of 7 bytes, to split lines and characters). */
async function * chunks (data: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += 7) {
    await Promise.resolve()
    yield data.subarray(at, at + 7)
  }
}

export function fakeIo (options: FakeIoOptions = {}): FakeIo {
  const handlers = new Map<string, Array<() => void>>()
  const out: string[] = []
  const err: string[] = []
  const stdin = options.stdin
  return {
    out,
    err,
    stdout: (t) => { out.push(t) },
    stderr: (t) => { err.push(t) },
    env: options.env ?? {},
    onSignal: (s, h) => { handlers.set(s, [...(handlers.get(s) ?? []), h]) },
    signal: (s) => { for (const h of handlers.get(s) ?? []) h() },
    ...(stdin === undefined ? {} : { stdin: typeof stdin === 'string' || Buffer.isBuffer(stdin) ? chunks(Buffer.from(stdin)) : stdin }),
    isTTY: options.isTTY ?? false,
    readFile: async (path) => {
      const content = options.files?.[path]
      if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' })
      return await Promise.resolve(Buffer.from(content))
    }
  }
}

/** Parsed JSON output, loosely typed for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as one JSON document. */
  json: () => Json
  /** stdout parsed as JSON lines. */
  lines: () => Json[]
}

/** Runs `samsa <argv>` against a bootstrap server (given as --bootstrap unless null). */
export async function samsa (argv: string[], options: FakeIoOptions & { bootstrap?: string | null } = {}): Promise<CliResult> {
  const io = fakeIo(options)
  const args = options.bootstrap === undefined || options.bootstrap === null ? argv : [...argv, '--bootstrap', options.bootstrap]
  const code = await run(args, io)
  const stdout = io.out.join('')
  const stderr = io.err.join('')
  return {
    code,
    stdout,
    stderr,
    json: () => JSON.parse(stdout),
    lines: () => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
  }
}

/** Bound to a broker: `cli(['topic', 'list'])`. */
export function cliFor (bootstrap: string): (argv: string[], options?: FakeIoOptions) => Promise<CliResult> {
  return async (argv, options = {}) => await samsa(argv, { ...options, bootstrap })
}

export function uniqueName (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Polls until `check` returns a value other than undefined (or fails after the timeout). */
export async function waitFor<T> (check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Splits a table's text into rows of cells (by runs of two or more spaces). */
export function tableRows (text: string): string[][] {
  return text.trimEnd().split('\n').map((line) => line.split(/ {2,}/))
}
