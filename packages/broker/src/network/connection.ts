/**
 * One client connection: frames in, responses out, strictly in request order.
 *
 * Requests are pipelined: each frame's handling starts as soon as it arrives (so their
 * synchronous parts, such as log appends, run in arrival order), and responses are written in
 * the order the requests came, whatever order they finish in. Reading pauses while too many
 * requests or bytes are waiting for their responses or for the socket to drain (backpressure),
 * and resumes when they are written. A request that must not be answered (Produce acks=0)
 * still holds its place in the order.
 *
 * A handler that throws, a frame that cannot be decoded, or a size prefix above
 * `socket.request.max.bytes` closes this connection only; nothing else is affected.
 */
import type { Socket } from 'node:net'
import { FrameDecoder } from '@samsa/protocol'
import type { Logger } from '../logger.ts'

/** What the dispatcher returns for one request. */
export type DispatchResult = Buffer[] | null

export interface ConnectionInfo {
  readonly id: string
  readonly remoteAddress: string
  readonly remotePort: number
  readonly listenerName: string
  /** The host:port the client connected to (for advertising it back). */
  readonly localAddress: string
  readonly localPort: number
}

export interface ConnectionOptions {
  maxFrameSize: number
  /** Close after this long with nothing in flight (`connections.max.idle.ms`). */
  idleTimeoutMs: number
  /** Pause reading above this many requests awaiting responses (`queued.max.requests`). */
  maxQueuedRequests: number
  /** Pause reading above this many request+response bytes in flight. */
  maxInFlightBytes: number
  logger: Logger
  dispatch: (frame: Buffer, connection: Connection) => DispatchResult | Promise<DispatchResult>
  onClose: (connection: Connection) => void
}

interface Pending {
  done: boolean
  result: DispatchResult
  bytes: number
}

export class ConnectionClosedError extends Error {
  constructor () {
    super('The connection is closed')
    this.name = 'ConnectionClosedError'
  }
}

export class Connection {
  readonly info: ConnectionInfo
  readonly socket: Socket
  /** Free-form per-connection state for handlers (e.g. SASL progress). */
  readonly state = new Map<string, unknown>()
  readonly #options: ConnectionOptions
  readonly #decoder: FrameDecoder
  readonly #queue: Pending[] = []
  #inFlightBytes = 0
  #paused = false
  #closing = false
  #closed = false
  #drained: (() => void) | undefined

  constructor (socket: Socket, info: ConnectionInfo, options: ConnectionOptions) {
    this.socket = socket
    this.info = info
    this.#options = options
    this.#decoder = new FrameDecoder(options.maxFrameSize)
    socket.setNoDelay(true)
    socket.setTimeout(options.idleTimeoutMs)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#maybeResume())
    socket.on('timeout', () => {
      if (this.#queue.length === 0) {
        options.logger.debug('Closing idle connection', { connection: info.id, client: `${info.remoteAddress}:${info.remotePort}` })
        this.destroy()
      }
    })
    socket.on('error', (error) => {
      options.logger.debug('Connection error', { connection: info.id, error })
    })
    socket.on('close', () => this.#onClosed())
  }

  get closed (): boolean {
    return this.#closed
  }

  get inFlightRequests (): number {
    return this.#queue.length
  }

  #onData (chunk: Buffer): void {
    if (this.#closing) return
    this.#decoder.push(chunk)
    this.#handleBuffered()
  }

  /**
   * Handles the complete frames received so far, stopping as soon as the connection is
   * overloaded: a chunk may hold many requests, and the rest wait in the decoder until
   * responses have gone out.
   */
  #handleBuffered (): void {
    while (!this.#overloaded()) {
      let frame: Buffer | undefined
      try {
        frame = this.#decoder.next()
      } catch (error) {
        this.#options.logger.debug('Closing connection after an invalid frame', { connection: this.info.id, error })
        this.destroy()
        return
      }
      if (frame === undefined) break
      this.#handle(frame)
      if (this.#closed) return
    }
    this.#maybePause()
  }

  /** Too many requests or bytes awaiting their responses or the socket. */
  #overloaded (): boolean {
    return this.#queue.length >= this.#options.maxQueuedRequests ||
      this.#inFlightBytes + this.socket.writableLength >= this.#options.maxInFlightBytes
  }

  #handle (frame: Buffer): void {
    const entry: Pending = { done: false, result: null, bytes: frame.length }
    this.#queue.push(entry)
    this.#inFlightBytes += frame.length
    let result: DispatchResult | Promise<DispatchResult>
    try {
      result = this.#options.dispatch(frame, this)
    } catch (error) {
      this.#fail(error)
      return
    }
    if (result instanceof Promise) {
      result.then((r) => this.#complete(entry, r), (error: unknown) => this.#fail(error))
    } else {
      this.#complete(entry, result)
    }
  }

  #complete (entry: Pending, result: DispatchResult): void {
    if (this.#closed) return
    entry.done = true
    entry.result = result
    if (result !== null) {
      for (const chunk of result) this.#inFlightBytes += chunk.length
    }
    this.#flush()
  }

  #fail (error: unknown): void {
    if (!(error instanceof ConnectionClosedError)) {
      this.#options.logger.debug('Closing connection after a request failed', { connection: this.info.id, error })
    }
    this.destroy()
  }

  /** Writes every finished response at the head of the queue, in order. */
  #flush (): void {
    const socket = this.socket
    let corked = false
    while (this.#queue.length > 0 && this.#queue[0]!.done) {
      const entry = this.#queue.shift()!
      this.#inFlightBytes -= entry.bytes
      const chunks = entry.result
      if (chunks !== null) {
        if (!corked) {
          socket.cork()
          corked = true
        }
        for (const chunk of chunks) {
          socket.write(chunk)
          this.#inFlightBytes -= chunk.length
        }
      }
    }
    if (corked) socket.uncork()
    this.#maybeResume()
    if (this.#queue.length === 0) {
      this.#drained?.()
      if (this.#closing) this.socket.end()
    }
  }

  #maybePause (): void {
    if (this.#paused || this.#closed) return
    if (this.#overloaded()) {
      this.#paused = true
      this.socket.pause()
    }
  }

  #maybeResume (): void {
    if (!this.#paused || this.#closing || this.#closed) return
    if (!this.#overloaded() && !this.socket.writableNeedDrain) {
      this.#paused = false
      // Frames that arrived before the pause come first; they may pause the connection again.
      this.#handleBuffered()
      if (!this.#paused && !this.#closed) this.socket.resume()
    }
  }

  /** Stops reading, lets requests in flight finish and be answered, then ends the connection. */
  async close (timeoutMs = 30000): Promise<void> {
    if (this.#closed) return
    this.#closing = true
    this.socket.pause()
    if (this.#queue.length > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs)
        timer.unref()
        this.#drained = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    if (!this.#closed) {
      this.socket.end()
      await new Promise<void>((resolve) => {
        if (this.#closed) {
          resolve()
          return
        }
        const timer = setTimeout(() => {
          this.destroy()
          resolve()
        }, 1000)
        timer.unref()
        this.socket.once('close', () => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  destroy (): void {
    if (this.#closed) return
    this.socket.destroy()
    this.#onClosed()
  }

  #onClosed (): void {
    if (this.#closed) return
    this.#closed = true
    this.#queue.length = 0
    this.#drained?.()
    this.#options.onClose(this)
  }
}
