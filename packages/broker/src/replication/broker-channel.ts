/**
 * A connection from this broker to another one, for inter-broker requests (replica fetches,
 * OffsetForLeaderEpoch): Kafka's BlockingSend / NetworkClient for one destination.
 *
 * The connection is opened on the first request and re-opened after any failure, resolving the
 * destination's address afresh each time (a restarted broker may listen elsewhere). Requests are
 * pipelined and answered in order (Kafka's per-connection ordering); a request not answered
 * within `requestTimeoutMs` (`replica.socket.timeout.ms`) closes the connection and fails
 * every request in flight, as a dead peer would otherwise hold them forever.
 *
 * Responses are decoded from the frame as received: record bytes in a Fetch response are views
 * of the frame (no copy), which the follower appends as they are.
 */
import { type Socket, connect } from 'node:net'
import { type ApiDefinition, FrameDecoder, decodeResponse, encodeRequest } from '@samsa/protocol'

export interface BrokerAddress {
  host: string
  port: number
}

export interface BrokerChannelOptions {
  /** The destination broker, for messages. */
  nodeId: number
  /** Where it listens now, or undefined while it is not registered. */
  address: () => BrokerAddress | undefined
  clientId: string
  requestTimeoutMs: number
  /** Largest response frame accepted (a fetch response can be large). */
  maxFrameSize?: number
}

export class BrokerChannelError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BrokerChannelError'
  }
}

interface InFlight {
  correlationId: number
  resolve: (frame: Buffer) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

export class BrokerChannel {
  readonly nodeId: number
  readonly #options: BrokerChannelOptions
  #socket: Socket | undefined
  #connecting: Promise<Socket> | undefined
  #inFlight: InFlight[] = []
  #correlationId = 0
  #closed = false

  constructor (options: BrokerChannelOptions) {
    this.nodeId = options.nodeId
    this.#options = options
  }

  get connected (): boolean {
    return this.#socket !== undefined
  }

  /** Sends a request and resolves with the decoded response; rejects with BrokerChannelError when the connection fails. */
  async request<Req, Res> (api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> {
    const socket = await this.#connect()
    const correlationId = this.#correlationId = (this.#correlationId + 1) & 0x7fffffff
    const frame = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(socket, new BrokerChannelError(`Request ${api.name} to broker ${this.nodeId} timed out after ${this.#options.requestTimeoutMs} ms`))
      }, this.#options.requestTimeoutMs)
      timer.unref()
      this.#inFlight.push({ correlationId, resolve, reject, timer })
      const buffers = encodeRequest(api as ApiDefinition<Req, unknown>, version, { correlationId, clientId: this.#options.clientId }, body)
      if (buffers.length === 1) socket.write(buffers[0]!)
      else {
        socket.cork()
        for (const b of buffers) socket.write(b)
        socket.uncork()
      }
    })
    return decodeResponse(api, version, frame).body
  }

  /** Closes the connection; requests in flight fail. Later requests open a new one unless `final`. */
  close (final = true): void {
    if (final) this.#closed = true
    if (this.#socket !== undefined) this.#fail(this.#socket, new BrokerChannelError(`Connection to broker ${this.nodeId} closed`))
  }

  async #connect (): Promise<Socket> {
    if (this.#closed) throw new BrokerChannelError(`Channel to broker ${this.nodeId} is closed`)
    if (this.#socket !== undefined) return this.#socket
    this.#connecting ??= this.#open().finally(() => { this.#connecting = undefined })
    return await this.#connecting
  }

  async #open (): Promise<Socket> {
    const address = this.#options.address()
    if (address === undefined) throw new BrokerChannelError(`Broker ${this.nodeId} is not registered`)
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: address.host, port: address.port })
      // An inter-broker connection never keeps the process alive on its own.
      s.unref()
      const timer = setTimeout(() => {
        s.destroy()
        reject(new BrokerChannelError(`Connecting to broker ${this.nodeId} at ${address.host}:${address.port} timed out`))
      }, this.#options.requestTimeoutMs)
      timer.unref()
      s.once('connect', () => {
        clearTimeout(timer)
        s.off('error', onError)
        resolve(s)
      })
      const onError = (error: Error): void => {
        clearTimeout(timer)
        reject(new BrokerChannelError(`Cannot connect to broker ${this.nodeId} at ${address.host}:${address.port}: ${error.message}`))
      }
      s.once('error', onError)
    })
    if (this.#closed) {
      socket.destroy()
      throw new BrokerChannelError(`Channel to broker ${this.nodeId} is closed`)
    }
    socket.setNoDelay(true)
    const decoder = new FrameDecoder(this.#options.maxFrameSize ?? 256 * 1024 * 1024)
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk)
        for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) this.#deliver(socket, frame)
      } catch (error) {
        this.#fail(socket, new BrokerChannelError(`Bad response from broker ${this.nodeId}: ${(error as Error).message}`))
      }
    })
    socket.on('error', (error) => this.#fail(socket, new BrokerChannelError(`Connection to broker ${this.nodeId} failed: ${error.message}`)))
    socket.on('close', () => this.#fail(socket, new BrokerChannelError(`Broker ${this.nodeId} closed the connection`)))
    return socket
  }

  #deliver (socket: Socket, frame: Buffer): void {
    const next = this.#inFlight.shift()
    if (next === undefined) {
      this.#fail(socket, new BrokerChannelError(`Unexpected response from broker ${this.nodeId}`))
      return
    }
    clearTimeout(next.timer)
    const id = frame.readInt32BE(0)
    if (id !== next.correlationId) {
      next.reject(new BrokerChannelError(`Expected correlation id ${next.correlationId} from broker ${this.nodeId}, got ${id}`))
      this.#fail(socket, new BrokerChannelError(`Out-of-order response from broker ${this.nodeId}`))
      return
    }
    next.resolve(frame)
  }

  #fail (socket: Socket, error: Error): void {
    socket.destroy()
    // Requests in flight all belong to the current socket: an old one's late events change nothing.
    if (this.#socket !== socket) return
    this.#socket = undefined
    const failed = this.#inFlight
    this.#inFlight = []
    for (const f of failed) {
      clearTimeout(f.timer)
      f.reject(error)
    }
  }
}
