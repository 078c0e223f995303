/**
 * A scriptable fake broker for unit tests: it speaks the wire protocol through
 * @samsa/protocol, answers ApiVersions, Metadata, Produce and InitProducerId by default, and
 * lets a test override any answer (or withhold it) per request. Requests are recorded.
 */
import { type Server, type Socket, createServer } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import {
  API_DEFINITIONS, ApiKey, ErrorCode, FindCoordinatorApi, FrameDecoder, InitProducerIdApi, MetadataApi, ProduceApi,
  ZERO_UUID, decodeRequest, encodeResponse, readRecordsCount, type ApiDefinition
} from '@samsa/protocol'

export interface FakeRequest {
  apiKey: number
  apiVersion: number
  correlationId: number
  body: unknown
  socket: Socket
}

/** A request's body as the API's request type (the caller checked the API key). */
export function bodyOf<T> (request: FakeRequest, _api: ApiDefinition<T, unknown>): T {
  return request.body as T
}

/** Return this from a handler to send no answer at all. */
export const NO_RESPONSE = Symbol('no response')
/** Return this from a handler to use the default answer. */
export const DEFAULT = Symbol('default')

export interface FakeBrokerOptions {
  /** [apiKey, min, max]; default: Metadata, Produce, ApiVersions, InitProducerId at modern ranges. */
  apiVersions?: Array<[number, number, number]>
  /** Topic name → partition count. */
  topics?: Record<string, number>
  /** Answers a request (a response body), NO_RESPONSE, or DEFAULT. */
  handle?: (request: FakeRequest, broker: FakeBroker) => unknown
  nodeId?: number
  /** Serve TLS with this key and certificate (PEM). */
  tls?: { key: string, cert: string }
}

export interface FakeBroker {
  readonly host: string
  readonly port: number
  readonly bootstrap: string
  readonly nodeId: number
  readonly requests: FakeRequest[]
  topics: Record<string, number>
  /** Next offset per `topic:partition` (default Produce answers). */
  offsets: Map<string, bigint>
  /** Records written per `topic:partition` by default Produce answers. */
  written: Map<string, Buffer[]>
  close (): Promise<void>
}

export const DEFAULT_API_VERSIONS: Array<[number, number, number]> = [
  [ApiKey.Produce, 3, 11], [ApiKey.Metadata, 0, 12], [ApiKey.ApiVersions, 0, 4], [ApiKey.InitProducerId, 0, 5],
  [ApiKey.FindCoordinator, 0, 6]
]

/** The requests of one API the broker received, with their bodies typed. */
export function requestsOf<T> (broker: FakeBroker, api: ApiDefinition<T, unknown>): Array<FakeRequest & { body: T }> {
  return broker.requests.filter((r): r is FakeRequest & { body: T } => r.apiKey === api.apiKey)
}

export async function startFakeBroker (options: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const apiVersions = options.apiVersions ?? DEFAULT_API_VERSIONS
  const sockets = new Set<Socket>()
  const broker: FakeBroker = {
    host: '127.0.0.1',
    port: 0,
    bootstrap: '',
    nodeId: options.nodeId ?? 1,
    requests: [],
    topics: { ...(options.topics ?? {}) },
    offsets: new Map(),
    written: new Map(),
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  const defaultAnswer = (req: FakeRequest): unknown => {
    const api = API_DEFINITIONS[req.apiKey]!
    switch (req.apiKey) {
      case ApiKey.ApiVersions: {
        const own = apiVersions.find(([k]) => k === ApiKey.ApiVersions)
        if (own !== undefined && req.apiVersion > own[2]) {
          return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [{ apiKey: ApiKey.ApiVersions, minVersion: own[1], maxVersion: own[2] }], throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1n, finalizedFeatures: [], zkMigrationReady: false }
        }
        return { ...api.response.create(), errorCode: 0, apiKeys: apiVersions.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })), finalizedFeaturesEpoch: -1n }
      }
      case ApiKey.Metadata: {
        const body = bodyOf(req, MetadataApi)
        const names = body.topics === null || (body.topics.length === 0 && req.apiVersion === 0) ? Object.keys(broker.topics) : body.topics.map((t) => t.name ?? '')
        return {
          ...api.response.create(),
          brokers: [{ nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: null }],
          clusterId: 'fake',
          controllerId: broker.nodeId,
          topics: names.map((name) => {
            const count = broker.topics[name]
            return {
              errorCode: count === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : 0,
              name,
              topicId: ZERO_UUID,
              isInternal: false,
              topicAuthorizedOperations: -2147483648,
              partitions: Array.from({ length: count ?? 0 }, (_, i) => ({ errorCode: 0, partitionIndex: i, leaderId: broker.nodeId, leaderEpoch: 0, replicaNodes: [broker.nodeId], isrNodes: [broker.nodeId], offlineReplicas: [] }))
            }
          })
        }
      }
      case ApiKey.Produce: {
        const body = bodyOf(req, ProduceApi)
        if (body.acks === 0) return NO_RESPONSE
        return {
          ...api.response.create(),
          responses: body.topicData.map((t) => ({
            name: t.name,
            partitionResponses: t.partitionData.map((p) => {
              const key = `${t.name}:${p.index}`
              const base = broker.offsets.get(key) ?? 0n
              const count = readRecordsCount(p.records!)
              broker.offsets.set(key, base + BigInt(count))
              const list = broker.written.get(key) ?? []
              list.push(p.records!)
              broker.written.set(key, list)
              return { index: p.index, errorCode: 0, baseOffset: base, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } }
            })
          }))
        }
      }
      case ApiKey.InitProducerId: {
        const epoch = bodyOf(req, InitProducerIdApi).producerEpoch
        return { throttleTimeMs: 0, errorCode: 0, producerId: 1000n, producerEpoch: epoch >= 0 ? epoch + 1 : 0 }
      }
      case ApiKey.FindCoordinator:
        return {
          ...api.response.create(),
          nodeId: broker.nodeId,
          host: broker.host,
          port: broker.port,
          coordinators: bodyOf(req, FindCoordinatorApi).coordinatorKeys.map((key) => ({ key, nodeId: broker.nodeId, host: broker.host, port: broker.port, errorCode: 0, errorMessage: null }))
        }
      default:
        return api.response.create()
    }
  }

  const answer = async (socket: Socket, req: FakeRequest): Promise<void> => {
    let body: unknown = options.handle?.(req, broker) ?? DEFAULT
    if (body instanceof Promise) body = await (body as Promise<unknown>)
    if (body === DEFAULT || body === undefined) body = defaultAnswer(req)
    if (body === NO_RESPONSE || socket.destroyed) return
    const api = API_DEFINITIONS[req.apiKey]!
    // An UNSUPPORTED_VERSION ApiVersions answer is always a v0 body (KIP-511).
    const version = req.apiKey === ApiKey.ApiVersions && (body as { errorCode: number }).errorCode === ErrorCode.UNSUPPORTED_VERSION ? 0 : req.apiVersion
    for (const b of encodeResponse(api, version, req.correlationId, body)) socket.write(b)
  }

  const onSocket = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const decoder = new FrameDecoder(64 * 1024 * 1024)
    // Answers go out in request order, as a Kafka broker's do.
    let chain = Promise.resolve()
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk)
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        const decoded = decodeRequest(frame)
        const req: FakeRequest = {
          apiKey: decoded.header.requestApiKey,
          apiVersion: decoded.header.requestApiVersion,
          correlationId: decoded.header.correlationId,
          body: decoded.body,
          socket
        }
        broker.requests.push(req)
        chain = chain.then(async () => { await answer(socket, req) }).catch(() => { socket.destroy() })
      }
    })
  }
  const server: Server = options.tls === undefined ? createServer(onSocket) : createTlsServer(options.tls, onSocket)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('No address')
  ;(broker as { port: number }).port = address.port
  ;(broker as { bootstrap: string }).bootstrap = `127.0.0.1:${address.port}`
  return broker
}
