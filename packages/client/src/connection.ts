/**
 * One socket to one broker. Requests are framed with @samsa/protocol, given correlation ids
 * and pipelined: up to `maxInFlightRequests` are written before the first answer arrives, the
 * rest wait in a queue. Kafka answers a connection's requests in order, so in-flight requests
 * are a FIFO and each answer must carry the correlation id of the oldest one; anything else
 * means the stream is corrupt and the connection is closed.
 *
 * On connect: TLS (optional), ApiVersions (v3, falling back as KIP-511 describes), then the
 * SASL hook. After that, `request(api, body)` picks the highest version both sides support.
 *
 * A request that gets no answer within its timeout fails with KafkaTimeoutError and closes the
 * connection, as Kafka's NetworkClient does: later answers on the same socket would be stuck
 * behind it anyway. Not thread-safe is moot in Node; the class is not reentrant-safe across
 * `close()` and must not be used after it.
 */
import { EventEmitter } from 'node:events'
import { type Socket, connect as netConnect, isIP } from 'node:net'
import { clearTimeout, setTimeout } from 'node:timers'
import { type ConnectionOptions as TlsConnectOptions, connect as tlsConnect } from 'node:tls'
import {
  type ApiDefinition, ApiVersionsApi, ErrorCode, FrameDecoder, decodeResponse, encodeRequest
} from '@samsa/protocol'
import type { ApiVersionsRequest, ApiVersionsResponse } from '@samsa/protocol/messages/api-versions'
import { type ApiVersionRange, type BrokerApiVersions, type VersionLimits, chooseVersion, supportsApi } from './api-versions.ts'
import { formatBrokerAddress } from './broker-address.ts'
import { type RequestTraceContext, requestChannel } from './diagnostics.ts'
import {
  KafkaClientError, KafkaClosedError, KafkaCorruptResponseError, KafkaInvalidArgumentError, KafkaNetworkError,
  KafkaResponseError, KafkaTimeoutError, toError
} from './errors.ts'
import type { SaslAuthenticator } from './sasl.ts'
import { CLIENT_SOFTWARE_NAME, CLIENT_SOFTWARE_VERSION } from './version.ts'

/** TLS settings handed to `tls.connect` (ca, cert, key, rejectUnauthorized, servername...). */
export type TlsOptions = Omit<TlsConnectOptions, 'host' | 'port' | 'socket'>

export interface ConnectionOptions {
  host: string
  port: number
  /** The broker's node id (negative for a bootstrap server); used in errors and traces. */
  nodeId?: number
  /** Kafka's `client.id`, sent in every request header. Default 'samsa'. */
  clientId?: string | null
  /** Default 30000 (Kafka's `request.timeout.ms`). */
  requestTimeoutMs?: number
  /** Default 10000. */
  connectTimeoutMs?: number
  /** Requests written before their answers arrive; more wait in a queue. Default 32. */
  maxInFlightRequests?: number
  /** The largest response frame accepted. Default 256 MiB. */
  maxResponseSize?: number
  /** `true` or tls.connect options to use TLS. */
  tls?: TlsOptions | boolean | undefined
  sasl?: SaslAuthenticator | undefined
}

/** Per-request settings. */
export interface RequestOptions extends VersionLimits {
  /** An exact version (skips negotiation; the caller knows the broker supports it). */
  version?: number | undefined
  /** Overrides the connection's requestTimeoutMs (long-polling requests add their wait). */
  timeoutMs?: number | undefined
  /**
   * False for requests the broker does not answer (Produce with acks=0): the promise
   * resolves with undefined once the request is written.
   */
  expectResponse?: boolean | undefined
}

/** A request body, or a function that builds it for the negotiated version. */
export type RequestBody<Req> = Req | ((version: number) => Req)

type Decode = (frame: Buffer, version: number) => unknown

interface Pending {
  api: ApiDefinition<unknown, unknown>
  version: number
  body: unknown
  correlationId: number
  timeoutMs: number
  expectResponse: boolean
  decode: Decode | null
  timer: ReturnType<typeof setTimeout> | null
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

const DEFAULT_CLIENT_ID = 'samsa'
const APIVERSIONS_FIRST_VERSION = 3

function positiveOption (name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v <= 0) throw new KafkaInvalidArgumentError(`Option '${name}' must be a positive number, got '${String(v)}'`)
  return v
}

/**
 * Decodes an ApiVersions answer. A broker that does not support the version sent answers with
 * a v0 body holding UNSUPPORTED_VERSION and its own ApiVersions range (KIP-511), so the error
 * code (the first body field in every version, after the always-v0 header) is read first.
 */
export function decodeApiVersionsResponse (frame: Buffer, version: number): ApiVersionsResponse {
  if (frame.length < 6) throw new KafkaCorruptResponseError(`ApiVersions response of ${frame.length} bytes is truncated`)
  const errorCode = frame.readInt16BE(4)
  const v = errorCode === ErrorCode.UNSUPPORTED_VERSION ? 0 : version
  return decodeResponse(ApiVersionsApi, v, frame).body
}

/** One broker connection. Create it with {@link Connection.connect}. */
export class Connection extends EventEmitter<{ close: [error: KafkaClientError | undefined] }> {
  readonly host: string
  readonly port: number
  readonly nodeId: number
  /** `host:port`. */
  readonly broker: string
  readonly clientId: string | null
  readonly requestTimeoutMs: number
  #connectTimeoutMs: number
  #maxInFlight: number
  #tls: TlsOptions | null
  #sasl: SaslAuthenticator | null
  #socket: Socket | null = null
  #decoder: FrameDecoder
  #inFlight: Pending[] = []
  #waiting: Pending[] = []
  #correlationId = 0
  #apiVersions: Map<number, ApiVersionRange> = new Map()
  #apiVersionsVersion = -1
  #closedError: KafkaClientError | null = null
  #socketError: Error | null = null
  #closedPromise: Promise<void> | null = null

  /** Validates the options; nothing happens on the network until {@link Connection.open}. */
  constructor (options: ConnectionOptions) {
    super()
    this.host = options.host
    this.port = options.port
    this.nodeId = options.nodeId ?? -1
    this.broker = formatBrokerAddress(options)
    this.clientId = options.clientId === undefined ? DEFAULT_CLIENT_ID : options.clientId
    this.requestTimeoutMs = positiveOption('requestTimeoutMs', options.requestTimeoutMs, 30_000)
    this.#connectTimeoutMs = positiveOption('connectTimeoutMs', options.connectTimeoutMs, 10_000)
    this.#maxInFlight = positiveOption('maxInFlightRequests', options.maxInFlightRequests, 32)
    this.#decoder = new FrameDecoder(positiveOption('maxResponseSize', options.maxResponseSize, 256 * 1024 * 1024))
    this.#tls = options.tls === true ? {} : options.tls === false || options.tls === undefined ? null : options.tls
    this.#sasl = options.sasl ?? null
  }

  /**
   * Opens a connection, negotiates API versions and authenticates. Rejects with
   * KafkaNetworkError when the broker cannot be reached.
   */
  static async connect (options: ConnectionOptions): Promise<Connection> {
    const connection = new Connection(options)
    await connection.open()
    return connection
  }

  /** The broker's API version ranges, from ApiVersions. */
  get apiVersions (): BrokerApiVersions {
    return this.#apiVersions
  }

  /** The ApiVersions version the broker answered (3 for modern brokers). */
  get apiVersionsVersion (): number {
    return this.#apiVersionsVersion
  }

  /** Requests written and not yet answered. */
  get inFlight (): number {
    return this.#inFlight.length
  }

  /** Requests waiting for an in-flight slot. */
  get queued (): number {
    return this.#waiting.length
  }

  get closed (): boolean {
    return this.#closedError !== null
  }

  /** The version `request` would use for the API, or throws KafkaUnsupportedVersionError. */
  versionFor (api: ApiDefinition<unknown, unknown>, limits: VersionLimits = {}): number {
    return chooseVersion(api, this.#apiVersions, limits)
  }

  /** True when some version of the API can be used within `limits`. */
  supports (api: ApiDefinition<unknown, unknown>, limits: VersionLimits = {}): boolean {
    return supportsApi(api, this.#apiVersions, limits)
  }

  /**
   * Sends a request and resolves with the decoded response body. Kafka error codes inside the
   * body are data: the caller interprets them. Rejects with KafkaUnsupportedVersionError,
   * KafkaNetworkError, KafkaTimeoutError, KafkaClosedError or KafkaCorruptResponseError.
   */
  request<Req, Res> (api: ApiDefinition<Req, Res>, body: RequestBody<Req>, options: RequestOptions = {}): Promise<Res> {
    return this.#request(api, body, options, null) as Promise<Res>
  }

  #request (api: ApiDefinition<unknown, unknown>, body: unknown, options: RequestOptions, decode: Decode | null): Promise<unknown> {
    if (this.#closedError !== null) return Promise.reject(this.#closedError)
    let version: number
    let payload: unknown
    try {
      version = options.version ?? chooseVersion(api, this.#apiVersions, options)
      payload = typeof body === 'function' ? (body as (v: number) => unknown)(version) : body
    } catch (error) {
      return Promise.reject(toError(error))
    }
    const pending: Pending = {
      api,
      version,
      body: payload,
      correlationId: 0,
      timeoutMs: options.timeoutMs ?? this.requestTimeoutMs,
      expectResponse: options.expectResponse ?? true,
      decode,
      timer: null,
      resolve: noop,
      reject: noop
    }
    if (!requestChannel.hasSubscribers) return this.#enqueue(pending)
    const context: RequestTraceContext = {
      api: api.name, apiKey: api.apiKey, apiVersion: version, correlationId: 0, broker: this.broker, nodeId: this.nodeId, request: payload
    }
    return requestChannel.tracePromise(async () => {
      const promise = this.#enqueue(pending)
      context.correlationId = pending.correlationId
      return await promise
    }, context)
  }

  #enqueue (pending: Pending): Promise<unknown> {
    return new Promise((resolve, reject) => {
      pending.resolve = resolve
      pending.reject = reject
      if (this.#inFlight.length >= this.#maxInFlight && pending.expectResponse) this.#waiting.push(pending)
      else this.#write(pending)
    })
  }

  #write (pending: Pending): void {
    const socket = this.#socket
    if (socket === null || this.#closedError !== null) {
      pending.reject(this.#closedError ?? new KafkaClosedError(`Connection to ${this.broker} is not open`))
      return
    }
    const id = this.#correlationId = this.#correlationId === 0x7fffffff ? 1 : this.#correlationId + 1
    pending.correlationId = id
    let frames: Buffer[]
    try {
      frames = encodeRequest(pending.api, pending.version, { correlationId: id, clientId: this.clientId }, pending.body)
    } catch (error) {
      pending.reject(new KafkaInvalidArgumentError(`Cannot encode ${pending.api.name} v${pending.version}: ${(error as Error).message}`, { cause: error }))
      return
    }
    pending.body = null
    socket.cork()
    const last = frames.length - 1
    for (let i = 0; i < last; i++) socket.write(frames[i]!)
    if (pending.expectResponse) {
      socket.write(frames[last]!)
      this.#inFlight.push(pending)
      pending.timer = setTimeout(this.#onTimeout, pending.timeoutMs, pending)
    } else {
      socket.write(frames[last]!, (error) => {
        if (error == null) pending.resolve(undefined)
        else pending.reject(this.#networkError('Write', error))
      })
    }
    socket.uncork()
  }

  #onTimeout = (pending: Pending): void => {
    pending.timer = null
    const error = new KafkaTimeoutError(`${pending.api.name} request to ${this.broker} timed out after ${pending.timeoutMs} ms`)
    // Answers come in order: nothing behind an unanswered request can arrive, so the
    // connection is closed and every other request fails with a retriable network error.
    const at = this.#inFlight.indexOf(pending)
    if (at >= 0) this.#inFlight.splice(at, 1)
    pending.reject(error)
    this.#destroy(new KafkaNetworkError(`Connection to ${this.broker} closed after a request timed out`, { broker: this.broker, cause: error }))
  }

  #onData = (chunk: Buffer): void => {
    this.#decoder.push(chunk)
    for (;;) {
      let frame: Buffer | undefined
      try {
        frame = this.#decoder.next()
      } catch (error) {
        this.#destroy(new KafkaCorruptResponseError(`Invalid response frame from ${this.broker}: ${(error as Error).message}`, { cause: error }))
        return
      }
      if (frame === undefined) break
      const pending = this.#inFlight.shift()
      if (pending === undefined) {
        this.#destroy(new KafkaCorruptResponseError(`Unexpected response from ${this.broker} with no request in flight`))
        return
      }
      if (pending.timer !== null) clearTimeout(pending.timer)
      const id = frame.length >= 4 ? frame.readInt32BE(0) : -1
      if (id !== pending.correlationId) {
        const error = new KafkaCorruptResponseError(`Response from ${this.broker} has correlation id ${id}, expected ${pending.correlationId} (${pending.api.name})`)
        pending.reject(error)
        this.#destroy(error)
        return
      }
      let body: unknown
      try {
        body = pending.decode === null ? decodeResponse(pending.api, pending.version, frame).body : pending.decode(frame, pending.version)
      } catch (error) {
        pending.reject(error instanceof KafkaClientError
          ? error
          : new KafkaCorruptResponseError(`Cannot decode ${pending.api.name} v${pending.version} response from ${this.broker}: ${(error as Error).message}`, { cause: error }))
        this.#pump()
        continue
      }
      pending.resolve(body)
      this.#pump()
    }
  }

  #pump (): void {
    while (this.#waiting.length > 0 && this.#inFlight.length < this.#maxInFlight && this.#closedError === null) {
      this.#write(this.#waiting.shift()!)
    }
  }

  #networkError (what: string, cause: Error): KafkaNetworkError {
    return new KafkaNetworkError(`${what} to ${this.broker} failed: ${cause.message}`, { broker: this.broker, cause })
  }

  /** Connects, negotiates versions and authenticates; see {@link Connection.connect}. */
  async open (): Promise<void> {
    if (this.#socket !== null) throw new KafkaInvalidArgumentError(`Connection to ${this.broker} was already opened`)
    const socket = this.#tls === null
      ? netConnect({ host: this.host, port: this.port })
      : tlsConnect({ ...(isIP(this.host) === 0 ? { servername: this.host } : {}), ...this.#tls, host: this.host, port: this.port })
    this.#socket = socket
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new KafkaNetworkError(`Connection to ${this.broker} timed out after ${this.#connectTimeoutMs} ms`, { broker: this.broker }))
      }, this.#connectTimeoutMs)
      socket.once(this.#tls === null ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        resolve()
      })
      socket.once('error', (error: Error) => {
        clearTimeout(timer)
        socket.destroy()
        reject(this.#networkError('Connection', error))
      })
    })
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 60_000)
    socket.on('data', this.#onData)
    socket.on('error', (error: Error) => { this.#socketError = error })
    socket.on('close', () => {
      const cause = this.#socketError
      this.#destroy(new KafkaNetworkError(cause === null
        ? `Connection to ${this.broker} was closed by the broker`
        : `Connection to ${this.broker} failed: ${cause.message}`, { broker: this.broker, ...(cause === null ? {} : { cause }) }))
    })
    try {
      await this.#negotiateVersions()
      if (this.#sasl !== null) await this.#sasl.authenticate(this)
    } catch (error) {
      this.#destroy(error instanceof KafkaClientError ? error : new KafkaNetworkError(`Connection to ${this.broker} failed: ${(error as Error).message}`, { cause: error }))
      throw error
    }
  }

  /**
   * ApiVersions v3 first. On UNSUPPORTED_VERSION the broker's v0 answer lists its own
   * ApiVersions range: retry at its maximum (below ours), or v0 if it lists none. On
   * INVALID_REQUEST (a broker that rejects our software name) retry v0, as librdkafka does.
   */
  async #negotiateVersions (): Promise<void> {
    let version = APIVERSIONS_FIRST_VERSION
    const body: ApiVersionsRequest = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION }
    for (;;) {
      const response = await this.#request(ApiVersionsApi, body, { version }, decodeApiVersionsResponse) as ApiVersionsResponse
      if (response.errorCode === ErrorCode.UNSUPPORTED_VERSION && version > 0) {
        const own = response.apiKeys.find((k) => k.apiKey === ApiVersionsApi.apiKey)
        version = own === undefined ? 0 : Math.max(0, Math.min(version - 1, own.maxVersion))
        continue
      }
      if (response.errorCode === ErrorCode.INVALID_REQUEST && version >= 3) {
        version = 0
        continue
      }
      if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'ApiVersions' })
      const map = new Map<number, ApiVersionRange>()
      for (const k of response.apiKeys) map.set(k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion })
      this.#apiVersions = map
      this.#apiVersionsVersion = version
      return
    }
  }

  #destroy (error: KafkaClientError): void {
    if (this.#closedError !== null) return
    this.#closedError = error
    const inFlight = this.#inFlight
    const waiting = this.#waiting
    this.#inFlight = []
    this.#waiting = []
    for (const p of inFlight) {
      if (p.timer !== null) clearTimeout(p.timer)
      p.reject(error)
    }
    for (const p of waiting) p.reject(error)
    this.#socket?.destroy()
    this.emit('close', error instanceof KafkaClosedError ? undefined : error)
  }

  /**
   * Closes the connection now. Requests in flight or queued fail with KafkaClosedError.
   * Resolves once the socket is closed.
   */
  async close (): Promise<void> {
    this.#closedPromise ??= new Promise<void>((resolve) => {
      const socket = this.#socket
      if (socket === null || socket.destroyed) resolve()
      else socket.once('close', () => resolve())
      this.#destroy(new KafkaClosedError(`Connection to ${this.broker} was closed`))
    })
    await this.#closedPromise
  }
}

function noop (): void {}
