/**
 * A TCP proxy on 127.0.0.1 for network-partition tests: point a client at `proxy.port` instead
 * of the real port, then `cut()` the link and `restore()` it.
 *
 * - `cut('reset')` (the default): every proxied connection is reset at once (both ends see
 *   ECONNRESET) and new connections are accepted and reset immediately: a blocked port.
 * - `cut('blackhole')`: bytes stop moving in both directions but nothing is closed, as when
 *   packets are dropped; connections made meanwhile are accepted and held. `restore()` lets
 *   the queued bytes through and connects the held ones, as TCP would after a partition heals
 *   (unless an end gave up and closed meanwhile).
 *
 *     const proxy = await startTcpProxy({ target: etcd.clientPort })
 *     t.after(() => proxy.close())
 *     // metadata.store = `etcd://127.0.0.1:${proxy.port}`
 *     proxy.cut()
 *     proxy.restore()
 */
import { type Server, type Socket, connect, createServer } from 'node:net'

export type CutMode = 'reset' | 'blackhole'

export interface TcpProxyOptions {
  /** Port on 127.0.0.1 to forward to (a function: resolved at each new connection). */
  target: number | (() => number)
  /** Port to listen on (default: a free one). */
  port?: number
}

export interface TcpProxy {
  readonly host: string
  readonly port: number
  /** `host:port` of the proxy. */
  readonly address: string
  /** How the link is cut now, or undefined while it is up. */
  readonly cutMode: CutMode | undefined
  /** Connections accepted since start (including those reset while cut). */
  readonly accepted: number
  /** Proxied connections open now. */
  readonly open: number
  cut (mode?: CutMode): void
  restore (): void
  /** Stops listening and destroys every connection. */
  close (): Promise<void>
}

interface Pair {
  client: Socket
  upstream: Socket | undefined
  /** Bytes held while blackholed, per direction, delivered on restore(). */
  toUpstream: Buffer[]
  toClient: Buffer[]
}

export async function startTcpProxy (options: TcpProxyOptions): Promise<TcpProxy> {
  const host = '127.0.0.1'
  const pairs = new Set<Pair>()
  let mode: CutMode | undefined
  let accepted = 0
  const targetPort = (): number => typeof options.target === 'function' ? options.target() : options.target

  const drop = (pair: Pair, reset: boolean): void => {
    pairs.delete(pair)
    for (const s of [pair.client, pair.upstream]) {
      if (s === undefined || s.destroyed) continue
      if (reset) s.resetAndDestroy()
      else s.destroy()
    }
  }

  const flush = (pair: Pair): void => {
    const { upstream } = pair
    if (upstream === undefined) return
    for (const chunk of pair.toUpstream.splice(0)) upstream.write(chunk)
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk)
  }

  const link = (pair: Pair): void => {
    const upstream = connect({ host, port: targetPort() })
    pair.upstream = upstream
    upstream.setNoDelay(true)
    upstream.on('error', () => drop(pair, false))
    upstream.on('close', () => drop(pair, false))
    upstream.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole') pair.toClient.push(chunk)
      else pair.client.write(chunk)
    })
    flush(pair)
  }

  const server: Server = createServer((client) => {
    accepted++
    client.setNoDelay(true)
    if (mode === 'reset') {
      client.on('error', () => undefined)
      client.resetAndDestroy()
      return
    }
    const pair: Pair = { client, upstream: undefined, toUpstream: [], toClient: [] }
    pairs.add(pair)
    client.on('error', () => drop(pair, false))
    client.on('close', () => drop(pair, false))
    client.on('data', (chunk: Buffer) => {
      if (mode === 'blackhole' || pair.upstream === undefined) pair.toUpstream.push(chunk)
      else pair.upstream.write(chunk)
    })
    // Held (bytes queued, not forwarded) while blackholed; linked on restore().
    if (mode === undefined) link(pair)
  })
  server.on('error', () => undefined)
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port: options.port ?? 0 }, () => {
      server.off('error', reject)
      const a = server.address()
      resolve(typeof a === 'object' && a !== null ? a.port : 0)
    })
  })

  return {
    host,
    port,
    address: `${host}:${port}`,
    get cutMode () { return mode },
    get accepted () { return accepted },
    get open () { return pairs.size },
    cut (how: CutMode = 'reset') {
      mode = how
      for (const pair of [...pairs]) {
        if (how === 'reset') drop(pair, true)
      }
    },
    restore () {
      const was = mode
      mode = undefined
      if (was !== 'blackhole') return
      for (const pair of [...pairs]) {
        if (pair.upstream === undefined) link(pair)
        else flush(pair)
      }
    },
    async close () {
      for (const pair of [...pairs]) drop(pair, false)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
