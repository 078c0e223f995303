/**
 * A real etcd for tests: `startEtcd()` runs /usr/bin/etcd (Debian package etcd-server) as a
 * single-member cluster on two free loopback ports with a temporary data directory. `stop()`
 * kills it and removes the directory; `kill()` + `restart()` simulate an etcd outage (same
 * ports and data, so the cluster's state survives, as it would on a real restart).
 *
 *     const etcd = await startEtcd()
 *     t.after(() => etcd.stop())
 *     // metadata.store = etcd.url
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ETCD_BINARY = process.env.SAMSA_ETCD ?? '/usr/bin/etcd'

/** Every etcd started here, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const c of running) c.kill('SIGKILL') })

/** Whether the etcd binary is installed (tests skip etcd cases with a message when it is not). */
export function etcdAvailable (): boolean {
  return existsSync(ETCD_BINARY)
}

export interface EtcdServer {
  /** `etcd://127.0.0.1:<port>` for metadata.store (add `/namespace` to share one etcd). */
  readonly url: string
  readonly clientPort: number
  readonly dataDir: string
  readonly running: boolean
  /** Kills the process (SIGKILL); the data directory stays. */
  kill (): Promise<void>
  /** Starts it again on the same ports and data (after kill). */
  restart (): Promise<void>
  /** Kills it and removes the data directory. */
  stop (): Promise<void>
}

/** A port the OS considers free right now on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

async function canConnect (port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** Waits for etcd to answer /health with {"health":"true"}. */
async function waitHealthy (port: number, process: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (process.exitCode !== null || process.signalCode !== null) throw new Error(`etcd exited (${process.exitCode ?? process.signalCode}):\n${output()}`)
    if (await canConnect(port)) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })
        const body = await res.json() as { health?: string }
        if (body.health === 'true') return
      } catch { /* not ready yet */ }
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`etcd did not become healthy within ${timeoutMs} ms:\n${output()}`)
}

export async function startEtcd (options: { dataDir?: string } = {}): Promise<EtcdServer> {
  if (!etcdAvailable()) throw new Error(`etcd is not installed at ${ETCD_BINARY} (Debian package etcd-server)`)
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'samsa-etcd-'))
  const clientPort = await freePort()
  const peerPort = await freePort()
  let child: ChildProcess | undefined
  let log = ''

  const launch = async (): Promise<void> => {
    log = ''
    const peer = `http://127.0.0.1:${peerPort}`
    const client = `http://127.0.0.1:${clientPort}`
    child = spawn(ETCD_BINARY, [
      '--name', 'samsa-test',
      '--data-dir', dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `samsa-test=${peer}`,
      '--initial-cluster-state', 'new',
      // Fast elections on a one-member cluster; no metrics or pprof listeners.
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-level', 'warn'
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    const started = child
    running.add(started)
    started.once('exit', () => running.delete(started))
    const keep = (chunk: Buffer): void => { log = (log + chunk.toString('utf8')).slice(-8000) }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    await waitHealthy(clientPort, child, 15000, () => log)
  }

  const killNow = async (): Promise<void> => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGKILL')
    })
  }

  await launch()
  let stopped = false
  return {
    url: `etcd://127.0.0.1:${clientPort}`,
    clientPort,
    dataDir,
    get running () { return child !== undefined && child.exitCode === null && child.signalCode === null },
    kill: killNow,
    async restart () {
      await killNow()
      await launch()
    },
    async stop () {
      if (stopped) return
      stopped = true
      await killNow()
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
    }
  }
}
