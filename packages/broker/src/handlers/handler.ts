/**
 * What a handler is: the API it serves, the versions it advertises, and a function from the
 * decoded request to the response body. Kafka errors are response data (an error code in the
 * body); a handler throws only for a bug or a condition that should close the connection.
 */
import type { ApiDefinition, DecodedRequestHeader } from '@samsa/protocol'
import type { Connection } from '../network/connection.ts'
import type { BrokerContext } from '../broker-context.ts'

/** Returned by a handler whose request gets no response (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('samsa.noResponse')

export interface RequestContext {
  readonly broker: BrokerContext
  readonly connection: Connection
  readonly header: DecodedRequestHeader
  readonly apiVersion: number
}

export type HandlerResult<Res> = Res | typeof NO_RESPONSE

export interface Handler<Req, Res> {
  readonly api: ApiDefinition<Req, Res>
  /** Lowest and highest version served and advertised in ApiVersions. */
  readonly minVersion: number
  readonly maxVersion: number
  handle (this: void, ctx: RequestContext, request: Req): HandlerResult<Res> | Promise<HandlerResult<Res>>
}

/** Any handler (its request and response types erased; method parameters are bivariant). */
export type AnyHandler = Handler<unknown, unknown>

export function defineHandler<Req, Res> (
  api: ApiDefinition<Req, Res>,
  versions: readonly [number, number],
  handle: (ctx: RequestContext, request: Req) => HandlerResult<Res> | Promise<HandlerResult<Res>>
): Handler<Req, Res> {
  if (versions[0] < api.minVersion || versions[1] > api.maxVersion) {
    throw new RangeError(`${api.name} handler versions ${versions[0]}-${versions[1]} exceed the spec's ${api.minVersion}-${api.maxVersion}`)
  }
  return { api, minVersion: versions[0], maxVersion: versions[1], handle }
}
