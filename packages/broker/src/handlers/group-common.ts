/**
 * Helpers shared by the group handlers (keys 8-16, 42, 47, 68, 69).
 */
import type { RequestContext } from './handler.ts'

/** How Kafka shows a client's address in group descriptions: `/` + IP (Java's InetAddress.toString). */
export function clientHost (ctx: RequestContext): string {
  return `/${ctx.connection.info.remoteAddress.replace(/^::ffff:/, '')}`
}

/** The request header's client id ('' when absent). */
export function clientId (ctx: RequestContext): string {
  return ctx.header.clientId ?? ''
}
