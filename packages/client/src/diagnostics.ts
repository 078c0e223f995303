/**
 * Diagnostics channels (`node:diagnostics_channel`). `samsa:client:request` is a tracing
 * channel published around every request a connection sends (start, end, asyncStart,
 * asyncEnd, error); its context is a {@link RequestTraceContext}. Nothing is allocated for
 * tracing while no one subscribes.
 *
 *     import { tracingChannel } from 'node:diagnostics_channel'
 *     tracingChannel('samsa:client:request').subscribe({ asyncEnd: (ctx) => ..., ... })
 */
import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel'

/** What subscribers of `samsa:client:request` receive. */
export interface RequestTraceContext {
  /** Kafka's API name, e.g. `Produce`. */
  api: string
  apiKey: number
  apiVersion: number
  correlationId: number
  /** `host:port`. */
  broker: string
  /** The broker's node id, or a negative id for a bootstrap connection. */
  nodeId: number
  request: unknown
  /** Set on asyncEnd. */
  result?: unknown
  /** Set on error. */
  error?: unknown
}

export const REQUEST_CHANNEL_NAME = 'samsa:client:request'

export const requestChannel: TracingChannel<unknown, RequestTraceContext> = tracingChannel(REQUEST_CHANNEL_NAME)
