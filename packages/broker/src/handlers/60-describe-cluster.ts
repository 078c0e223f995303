/**
 * DescribeCluster (key 60), versions 0-1 (KIP-700): brokers, cluster id and controller.
 * v1's `endpointType` 1 asks for brokers; 2 (controllers) gets UNSUPPORTED_ENDPOINT_TYPE from
 * a broker, as in Kafka.
 */
import { DescribeClusterApi, ErrorCode } from '@samsa/protocol'
import type { DescribeClusterResponse } from '@samsa/protocol/messages/describe-cluster'
import { CLUSTER_AUTHORIZED_OPERATIONS, UNKNOWN_AUTHORIZED_OPERATIONS } from './authorized-operations.ts'
import { defineHandler } from './handler.ts'

const BROKERS = 1

export const describeClusterHandler = defineHandler(DescribeClusterApi, [0, 1], (ctx, req) => {
  const broker = ctx.broker
  const response: DescribeClusterResponse = {
    ...DescribeClusterApi.response.create(),
    endpointType: req.endpointType,
    clusterId: broker.clusterId,
    controllerId: broker.controllerId(),
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_AUTHORIZED_OPERATIONS : UNKNOWN_AUTHORIZED_OPERATIONS
  }
  if (ctx.apiVersion >= 1 && req.endpointType !== BROKERS) {
    return { ...response, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'The target broker only supports broker endpoints' }
  }
  response.brokers = broker.brokers().flatMap((b) => {
    const endpoint = broker.endpointFor(b.nodeId, ctx.connection)
    return endpoint === undefined ? [] : [{ brokerId: b.nodeId, host: endpoint.host, port: endpoint.port, rack: b.rack }]
  })
  return response
})
