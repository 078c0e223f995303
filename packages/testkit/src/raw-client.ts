/**
 * A minimal Kafka protocol connection for tests: send any request of any version (or raw
 * bytes) and read responses in order. No retries, no metadata: exactly what was asked.
 */
import { type Socket, connect } from 'node:net'
import { type ApiDefinition, FrameDecoder, decodeResponse, encodeRequest } from '@samsa/protocol'

export interface RawClient {
  /** Sends a request and resolves with the decoded response body. */
  request<Req, Res> (api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res>
  /** Sends a request whose response is not awaited (Produce acks=0). */
  send<Req> (api: ApiDefinition<Req, unknown>, version: number, body: Req): void
  /** Writes bytes as they are. */
  writeRaw (bytes: Buffer): void
  /** Resolves when the broker closes the connection. */
  readonly closed: Promise<void>
  readonly isClosed: boolean
  close (): void
}

interface Waiter {
  correlationId: number
  resolve: (frame: Buffer) => void
  reject: (error: Error) => void
}

export async function connectRaw (bootstrap: string, clientId = 'samsa-raw'): Promise<RawClient> {
  const at = bootstrap.lastIndexOf(':')
  const host = bootstrap.slice(0, at).replace(/^\[|\]$/g, '')
  const port = Number(bootstrap.slice(at + 1))
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => {
      s.off('error', reject)
      resolve(s)
    })
    s.once('error', reject)
  })
  socket.setNoDelay(true)
  const decoder = new FrameDecoder(512 * 1024 * 1024)
  const waiters: Waiter[] = []
  let correlationId = 0
  let isClosed = false
  let onClosed!: () => void
  const closed = new Promise<void>((resolve) => { onClosed = resolve })
  const fail = (error: Error): void => {
    for (const w of waiters.splice(0)) w.reject(error)
  }
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk)
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
      const waiter = waiters.shift()
      if (waiter === undefined) continue
      const id = frame.readInt32BE(0)
      if (id !== waiter.correlationId) waiter.reject(new Error(`Expected correlation id ${waiter.correlationId}, got ${id}`))
      else waiter.resolve(frame)
    }
  })
  socket.on('error', (error) => fail(error))
  socket.on('close', () => {
    isClosed = true
    fail(new Error('The broker closed the connection'))
    onClosed()
  })
  const write = <Req>(api: ApiDefinition<Req, unknown>, version: number, body: Req): number => {
    const id = ++correlationId
    socket.write(Buffer.concat(encodeRequest(api, version, { correlationId: id, clientId }, body)))
    return id
  }
  return {
    async request<Req, Res> (api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> {
      const id = write(api as ApiDefinition<Req, unknown>, version, body)
      const frame = await new Promise<Buffer>((resolve, reject) => waiters.push({ correlationId: id, resolve, reject }))
      return decodeResponse(api, version, frame).body
    },
    send<Req> (api: ApiDefinition<Req, unknown>, version: number, body: Req): void {
      write(api, version, body)
    },
    writeRaw (bytes: Buffer): void {
      socket.write(bytes)
    },
    closed,
    get isClosed () { return isClosed },
    close (): void {
      socket.destroy()
    }
  }
}
