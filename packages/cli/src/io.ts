/**
 * What a command may touch of the outside world, injected so tests can run commands in
 * process and check their output. Only `stdout`, `stderr`, `env` and `onSignal` are required;
 * commands treat a missing `stdin` as empty input, a missing `isTTY` as false, and read files
 * through `readFile` when it is given (node:fs otherwise).
 */
import { readFile } from 'node:fs/promises'

export interface CommandIo {
  stdout (text: string): void
  stderr (text: string): void
  readonly env: Readonly<Record<string, string | undefined>>
  onSignal (signal: 'SIGINT' | 'SIGTERM', handler: () => void): void
  /** Standard input (`samsa produce` reads records from it). */
  readonly stdin?: AsyncIterable<Uint8Array | string>
  /** True when stdout is a terminal: live progress lines are drawn only then. */
  readonly isTTY?: boolean
  /** Reads a whole file (`samsa produce --file`). */
  readFile? (path: string): Promise<Buffer>
  /** Resolves once stdout has room again (back-pressure for large outputs). */
  drain? (): Promise<void>
}

export function processIo (): CommandIo {
  return {
    stdout: (text) => { process.stdout.write(text) },
    stderr: (text) => { process.stderr.write(text) },
    env: process.env,
    onSignal: (signal, handler) => { process.on(signal, handler) },
    stdin: process.stdin,
    isTTY: process.stdout.isTTY === true,
    readFile: async (path) => await readFile(path),
    drain: async () => {
      if (!process.stdout.writableNeedDrain) return
      await new Promise<void>((resolve) => { process.stdout.once('drain', resolve) })
    }
  }
}

/** Reads a file through the io, or node:fs when the io has no `readFile`. */
export async function readFileVia (io: CommandIo, path: string): Promise<Buffer> {
  return io.readFile === undefined ? await readFile(path) : await io.readFile(path)
}
