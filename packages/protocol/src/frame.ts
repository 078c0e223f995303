/**
 * Kafka framing: `int32 size` + header + body, for both directions.
 *
 * Header versions (RequestHeader.json, ResponseHeader.json; KIP-482, KIP-511):
 * - request header v2 (with tagged fields) when the API version is flexible, else v1;
 *   v0 only for ControlledShutdown v0. client_id stays an int16-length string in every version.
 * - response header v1 (with tagged fields) when flexible, else v0 — except ApiVersions,
 *   whose response header is always v0 so a client can read it before knowing the version.
 */
import { type ApiDefinition, type MessageCodec, isFlexible } from './api.ts'
import { API_DEFINITIONS, ApiKey } from './messages/index.ts'
import { type RequestHeader, RequestHeaderMessage } from './messages/request-header.ts'
import { type ResponseHeader, ResponseHeaderMessage } from './messages/response-header.ts'
import { ProtocolDecodeError } from './primitives/errors.ts'
import { Reader } from './primitives/reader.ts'
import type { TaggedField } from './primitives/tagged-fields.ts'
import { Writer } from './primitives/writer.ts'

export function apiDefinition (apiKey: number): ApiDefinition<unknown, unknown> | undefined {
  return API_DEFINITIONS[apiKey]
}

/**
 * Whether `version` of an API is flexible. An ApiVersions request newer than we know still
 * has a v2 header (its flexible range is open-ended), so its header can be read and answered
 * with v0 and our supported range (KIP-511). Other too-new versions are read as header v1,
 * enough to log the correlation id before the connection is closed, as Kafka does.
 */
function flexibleAt (api: ApiDefinition<unknown, unknown>, version: number): boolean {
  if (isFlexible(api, version)) return true
  const flexible = api.flexibleVersions
  return api.apiKey === ApiKey.ApiVersions && flexible !== null && version > api.maxVersion && version >= flexible[0]
}

export function requestHeaderVersion (api: ApiDefinition<unknown, unknown>, version: number): number {
  if (flexibleAt(api, version)) return 2
  if (api.apiKey === ApiKey.ControlledShutdown && version === 0) return 0
  return 1
}

export function responseHeaderVersion (api: ApiDefinition<unknown, unknown>, version: number): number {
  if (api.apiKey === ApiKey.ApiVersions) return 0
  return flexibleAt(api, version) ? 1 : 0
}

/** A decoded request header plus what the caller needs to decode the body. */
export interface DecodedRequestHeader extends RequestHeader {
  /** The API definition, or undefined for an API key Samsa does not know. */
  api: ApiDefinition<unknown, unknown> | undefined
  headerVersion: number
}

/**
 * Reads a request header. api_key and api_version come first in every header version, so
 * they are peeked to choose the header version. An unknown API key is read as header v1
 * (enough to know the correlation id); the caller decides to close the connection.
 */
export function readRequestHeader (r: Reader): DecodedRequestHeader {
  if (r.remaining < 4) r.fail('Truncated request header')
  const apiKey = r.buffer.readInt16BE(r.offset)
  const apiVersion = r.buffer.readInt16BE(r.offset + 2)
  const api = apiKey >= 0 ? API_DEFINITIONS[apiKey] : undefined
  const headerVersion = api === undefined ? 1 : requestHeaderVersion(api, apiVersion)
  const header = RequestHeaderMessage.read(r, headerVersion)
  return { ...header, api, headerVersion }
}

export interface RequestFrame<T> {
  header: DecodedRequestHeader
  body: T
}

/**
 * Decodes one whole request frame (without its size prefix). Throws ProtocolDecodeError for
 * an unknown API key, a version outside the API's range, or a malformed header or body.
 */
export function decodeRequest (frame: Buffer): RequestFrame<unknown> {
  const r = new Reader(frame)
  const header = readRequestHeader(r)
  const api = header.api
  if (api === undefined) throw new ProtocolDecodeError(`Unknown API key ${header.requestApiKey}`, 0)
  const version = header.requestApiVersion
  if (version < api.minVersion || version > api.maxVersion) {
    throw new ProtocolDecodeError(`${api.name} version ${version} is outside ${api.minVersion}-${api.maxVersion}`, 2)
  }
  const body = api.request.read(r, version)
  return { header, body }
}

/** Encodes size prefix, a header and a body as a list of buffers. */
function encodeFramed<H, T> (
  headerCodec: MessageCodec<H>, header: H, headerVersion: number, codec: MessageCodec<T>, body: T, version: number
): Buffer[] {
  const zc = { bytes: 0 }
  const total = headerCodec.size(header, headerVersion, zc) + codec.size(body, version, zc)
  const w = new Writer(4 + total - zc.bytes)
  w.writeInt32(total)
  headerCodec.write(w, header, headerVersion)
  codec.write(w, body, version)
  return w.finish()
}

export interface RequestHeaderInit {
  correlationId: number
  clientId: string | null
  unknownTaggedFields?: TaggedField[]
}

/** Encodes a request (size prefix, header, body) as a list of buffers for `writev`. */
export function encodeRequest<Req> (api: ApiDefinition<Req, unknown>, version: number, header: RequestHeaderInit, body: Req): Buffer[] {
  const headerVersion = requestHeaderVersion(api, version)
  const h: RequestHeader = {
    requestApiKey: api.apiKey,
    requestApiVersion: version,
    correlationId: header.correlationId,
    clientId: header.clientId
  }
  if (header.unknownTaggedFields !== undefined) h.unknownTaggedFields = header.unknownTaggedFields
  return encodeFramed(RequestHeaderMessage, h, headerVersion, api.request, body, version)
}

/** Encodes a response (size prefix, header, body) as a list of buffers for `writev`. */
export function encodeResponse<Res> (api: ApiDefinition<unknown, Res>, version: number, correlationId: number, body: Res): Buffer[] {
  const h: ResponseHeader = { correlationId }
  return encodeFramed(ResponseHeaderMessage, h, responseHeaderVersion(api, version), api.response, body, version)
}

/** Decodes a whole response frame (without its size prefix) of a known API and version. */
export function decodeResponse<Res> (api: ApiDefinition<unknown, Res>, version: number, frame: Buffer): { correlationId: number, body: Res } {
  const r = new Reader(frame)
  const header = ResponseHeaderMessage.read(r, responseHeaderVersion(api, version))
  const body = api.response.read(r, version)
  return { correlationId: header.correlationId, body }
}

/** Reads just the correlation id of a response frame, to route it before decoding. */
export function peekCorrelationId (frame: Buffer): number {
  if (frame.length < 4) throw new ProtocolDecodeError('Truncated response header', 0)
  return frame.readInt32BE(0)
}
