/**
 * Turns one request frame into its response frame (or none).
 *
 * Kafka's rules: an ApiVersions request of a version newer than ours is answered with a v0
 * body carrying UNSUPPORTED_VERSION and our ApiVersions range (KIP-511), header v0; any other
 * API key or version we do not serve, and any request that does not decode, closes the
 * connection (the client then knows not to retry the same bytes). Handlers report Kafka
 * errors in their response bodies.
 */
import {
  ApiVersionsApi, ErrorCode, ProtocolDecodeError, Reader, encodeResponse, readRequestHeader
} from '@samsa/protocol'
import type { BrokerContext } from '../broker-context.ts'
import { type AnyHandler, NO_RESPONSE, type RequestContext } from '../handlers/handler.ts'
import type { Connection, DispatchResult } from './connection.ts'

export class UnsupportedRequestError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UnsupportedRequestError'
  }
}

export function handlerTable (handlers: ReadonlyArray<AnyHandler>): Array<AnyHandler | undefined> {
  const table: Array<AnyHandler | undefined> = []
  for (const h of handlers) {
    if (table[h.api.apiKey] !== undefined) throw new Error(`Two handlers for API key ${h.api.apiKey}`)
    table[h.api.apiKey] = h
  }
  return table
}

export function createDispatcher (broker: BrokerContext, table: ReadonlyArray<AnyHandler | undefined>) {
  return function dispatch (frame: Buffer, connection: Connection): DispatchResult | Promise<DispatchResult> {
    const r = new Reader(frame)
    const header = readRequestHeader(r)
    const apiKey = header.requestApiKey
    const version = header.requestApiVersion
    const handler = apiKey >= 0 ? table[apiKey] : undefined
    if (handler === undefined) {
      throw new UnsupportedRequestError(`Unsupported API key ${apiKey} (version ${version}) from client '${header.clientId ?? ''}'`)
    }
    if (version < handler.minVersion || version > handler.maxVersion) {
      if (handler.api === ApiVersionsApi && version > handler.maxVersion) {
        const body = { ...ApiVersionsApi.response.create(), errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [{ apiKey, minVersion: handler.minVersion, maxVersion: handler.maxVersion }] }
        return encodeResponse(ApiVersionsApi, 0, header.correlationId, body)
      }
      throw new UnsupportedRequestError(`Unsupported ${handler.api.name} version ${version} from client '${header.clientId ?? ''}' (we serve ${handler.minVersion}-${handler.maxVersion})`)
    }
    let body: unknown
    try {
      body = handler.api.request.read(r, version)
    } catch (error) {
      if (error instanceof ProtocolDecodeError) {
        throw new UnsupportedRequestError(`Malformed ${handler.api.name} v${version} request from client '${header.clientId ?? ''}': ${error.message}`)
      }
      throw error
    }
    const ctx: RequestContext = { broker, connection, header, apiVersion: version }
    const result = handler.handle(ctx, body)
    if (result instanceof Promise) return result.then((res) => encode(handler, version, header.correlationId, res))
    return encode(handler, version, header.correlationId, result)
  }
}

function encode (handler: AnyHandler, version: number, correlationId: number, result: unknown): DispatchResult {
  if (result === NO_RESPONSE) return null
  return encodeResponse(handler.api, version, correlationId, result)
}
