/**
 * ApiVersions (key 18), versions 0-4.
 *
 * Lists every API and version range this broker serves, from the handler registrations.
 * A request of a version above 4 never reaches this handler: the dispatcher answers it with
 * a v0 body carrying UNSUPPORTED_VERSION and our ApiVersions range (KIP-511). From v3 the
 * client software name and version must match Kafka's pattern, else INVALID_REQUEST.
 * The listing is the same before and after SASL authentication, as in Kafka.
 */
import { ApiVersionsApi, ErrorCode } from '@samsa/protocol'
import { defineHandler } from './handler.ts'

const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/

export const apiVersionsHandler = defineHandler(ApiVersionsApi, [0, 4], (ctx, req) => {
  const response = ApiVersionsApi.response.create()
  if (ctx.apiVersion >= 3 && (!SOFTWARE_PATTERN.test(req.clientSoftwareName) || !SOFTWARE_PATTERN.test(req.clientSoftwareVersion))) {
    return { ...response, errorCode: ErrorCode.INVALID_REQUEST }
  }
  response.apiKeys = ctx.broker.apiVersions().map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion }))
  return response
})
