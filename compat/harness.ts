/**
 * Starts Samsa the way a user does, `samsa start` from the built CLI, as a child process, for
 * the third-party client suites. The broker gets a fresh data directory and a free port;
 * restart() stops it cleanly (SIGTERM) or kills it (SIGKILL) and starts it again on the same
 * port and data.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type Wiretap, startWiretap } from './wiretap.ts'

export const ROOT = resolve(import.meta.dirname, '..')
export const CLI = join(ROOT, 'packages/cli/dist/main.js')

export interface SamsaProcess {
  readonly bootstrap: string
  /** The port clients are told to use (the broker's, or the wiretap's with SAMSA_COMPAT_WIRETAP). */
  readonly port: number
  readonly dataDir: string
  /** Everything the broker logged so far. */
  readonly log: () => string
  restart (how?: 'clean' | 'kill'): Promise<void>
  stop (): Promise<void>
}

export interface StartSamsaOptions {
  /** Broker configs by Kafka name, passed as --name value flags. */
  config?: Record<string, string | number | boolean>
  port?: number
}

/** This process's environment without the compat lane's own SAMSA_COMPAT_* settings (the broker would read them as configs). */
function brokerEnv (): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SAMSA_COMPAT_')))
}

async function launch (dataDir: string, port: number, config: Record<string, string>): Promise<{ child: ChildProcess, port: number, output: string[] }> {
  if (!existsSync(CLI)) throw new Error(`The CLI is not built (${CLI}); run 'npm run build' first`)
  const args = [CLI, 'start', '--log.dirs', dataDir, '--listeners', `PLAINTEXT://127.0.0.1:${port}`]
  for (const [k, v] of Object.entries(config)) args.push(`--${k}`, v)
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...brokerEnv(), SAMSA_LOG_LEVEL: process.env.SAMSA_COMPAT_LOG_LEVEL ?? 'info' } })
  const output: string[] = []
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Samsa did not start in 20 s:\n${output.join('')}`)), 20_000)
    const onData = (chunk: Buffer): void => {
      output.push(chunk.toString())
      const m = /Broker started .*listeners=PLAINTEXT:\/\/[^:]+:(\d+)/.exec(output.join(''))
      if (m !== null) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`Samsa exited with ${code ?? 'a signal'} before starting:\n${output.join('')}`))
    })
  })
  return { child, port: bound, output }
}

async function terminate (child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  return await new Promise((resolve) => {
    child.once('exit', (code) => resolve(code))
    child.kill(signal)
  })
}

export async function startSamsa (options: StartSamsaOptions = {}): Promise<SamsaProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'samsa-compat-'))
  const config = Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [k, String(v)]))
  // SAMSA_COMPAT_WIRETAP=<file>: clients talk to a logging proxy (advertised to them), and the
  // API versions they sent are appended to <file> on stop() (compat/wiretap.ts).
  const tapFile = process.env.SAMSA_COMPAT_WIRETAP
  let brokerPort = 0
  let tap: Wiretap | undefined
  if (tapFile !== undefined && tapFile !== '') {
    tap = await startWiretap(0, () => brokerPort)
    config['advertised.listeners'] = `PLAINTEXT://127.0.0.1:${tap.port}`
  }
  let current = await launch(dataDir, options.port ?? 0, config)
  brokerPort = current.port
  const port = tap?.port ?? brokerPort
  const logs: string[][] = [current.output]
  return {
    bootstrap: `127.0.0.1:${port}`,
    port,
    dataDir,
    log: () => logs.map((l) => l.join('')).join('\n--- restart ---\n'),
    async restart (how = 'clean') {
      const code = await terminate(current.child, how === 'clean' ? 'SIGTERM' : 'SIGKILL')
      if (how === 'clean' && code !== 0) throw new Error(`Samsa exited with ${String(code)} on SIGTERM:\n${current.output.join('')}`)
      current = await launch(dataDir, brokerPort, config)
      logs.push(current.output)
    },
    async stop () {
      await terminate(current.child, 'SIGTERM')
      rmSync(dataDir, { recursive: true, force: true })
      if (tap !== undefined) {
        await tap.close()
        const seen = new Set(tap.requests.map((r) => `${r.clientId ?? 'null'}\t${r.api}(${r.apiKey})\tv${r.version}`))
        appendFileSync(tapFile!, [...seen].sort().join('\n') + '\n')
      }
    }
  }
}
