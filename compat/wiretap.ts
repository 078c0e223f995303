/**
 * A logging TCP proxy for finding out which API versions a client sends: it forwards bytes
 * both ways unchanged and records the request header (API key, version, client id) of every
 * frame going to the broker. Start the broker with `advertised.listeners` pointing at the tap,
 * so the client's follow-up connections come through it too:
 *
 *   node packages/cli/dist/main.js start --override listeners=PLAINTEXT://127.0.0.1:19092 \
 *     --advertised.listeners PLAINTEXT://127.0.0.1:19093 &
 *   node --conditions=samsa:source --import tsx compat/wiretap.ts 19093 19092
 *
 * Or run a compat suite through it: SAMSA_COMPAT_WIRETAP=<file> makes startSamsa() put a tap
 * in front of the broker and append every (client id, API, version) it saw to <file>.
 * Used to write compat/FINDINGS.md; not part of the normal test run.
 */
import { type Server, type Socket, connect, createServer } from 'node:net'
import { apiDefinition } from '@samsa/protocol'

export interface TappedRequest {
  connection: number
  apiKey: number
  api: string
  version: number
  clientId: string | null
  size: number
}

export interface Wiretap {
  readonly port: number
  readonly requests: TappedRequest[]
  close (): Promise<void>
}

function parseHeader (frame: Buffer): { apiKey: number, version: number, clientId: string | null } {
  const apiKey = frame.readInt16BE(0)
  const version = frame.readInt16BE(2)
  const idLength = frame.length >= 10 ? frame.readInt16BE(8) : -1
  const clientId = idLength < 0 ? null : frame.subarray(10, 10 + idLength).toString()
  return { apiKey, version, clientId }
}

export async function startWiretap (listenPort: number, brokerPort: number | (() => number), onRequest?: (r: TappedRequest) => void): Promise<Wiretap> {
  const requests: TappedRequest[] = []
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createServer((client) => {
    const id = ++connections
    const upstream = connect({ host: '127.0.0.1', port: typeof brokerPort === 'number' ? brokerPort : brokerPort() })
    sockets.add(client)
    sockets.add(upstream)
    let pending = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk)
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const size = pending.readInt32BE(0)
        const { apiKey, version, clientId } = parseHeader(pending.subarray(4, 4 + size))
        const r = { connection: id, apiKey, api: apiDefinition(apiKey)?.name ?? `key${apiKey}`, version, clientId, size }
        requests.push(r)
        onRequest?.(r)
        pending = pending.subarray(4 + size)
      }
    })
    upstream.on('data', (chunk: Buffer) => client.write(chunk))
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve))
  const address = server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : listenPort,
    requests,
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [listen, broker] = process.argv.slice(2).map(Number)
  if (listen === undefined || broker === undefined) {
    console.error('Usage: wiretap.ts <listen port> <broker port>')
    process.exit(2)
  }
  await startWiretap(listen, broker, (r) => console.log(`#${r.connection} ${r.api}(${r.apiKey}) v${r.version} client=${r.clientId ?? 'null'} ${r.size}B`))
  console.log(`Tapping 127.0.0.1:${listen} -> 127.0.0.1:${broker}`)
}
