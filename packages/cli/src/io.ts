/**
 * What a command may touch of the outside world, injected so tests can run commands in
 * process and check their output.
 */
export interface CommandIo {
  stdout (text: string): void
  stderr (text: string): void
  readonly env: Readonly<Record<string, string | undefined>>
  onSignal (signal: 'SIGINT' | 'SIGTERM', handler: () => void): void
}

export function processIo (): CommandIo {
  return {
    stdout: (text) => { process.stdout.write(text) },
    stderr: (text) => { process.stderr.write(text) },
    env: process.env,
    onSignal: (signal, handler) => { process.on(signal, handler) }
  }
}
