/**
 * WriteTxnMarkers (key 27), versions 0-1: broker to broker (a transaction coordinator asks a
 * partition leader to append COMMIT/ABORT markers).
 *
 * Each marker is appended to each listed partition this broker leads as a control batch with the
 * producer's id and epoch and the coordinator epoch (txn-markers.ts, shared with the local
 * coordinator); `__consumer_offsets` partitions also complete the transaction's offset commits.
 * Per partition: UNKNOWN_TOPIC_OR_PARTITION for an unknown partition, NOT_LEADER_OR_FOLLOWER when
 * another broker leads it, INVALID_PRODUCER_EPOCH when a
 * newer epoch already wrote there, TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch,
 * KAFKA_STORAGE_ERROR when the append fails. Kafka restricts it to CLUSTER_ACTION; Samsa has no
 * ACLs yet. v1 is flexible.
 */
import { WriteTxnMarkersApi } from '@samsa/protocol'
import type { WritableTxnMarkerResult } from '@samsa/protocol/messages/write-txn-markers'
import { defineHandler } from './handler.ts'

export const writeTxnMarkersHandler = defineHandler(WriteTxnMarkersApi, [0, 1], async (ctx, req) => {
  const markers: WritableTxnMarkerResult[] = []
  for (const m of req.markers) {
    const partitions = m.topics.flatMap((t) => t.partitionIndexes.map((partition) => ({ topic: t.name, partition })))
    const results = await ctx.broker.txnMarkerWriter.writeLocal({
      producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch: m.coordinatorEpoch, commit: m.transactionResult, partitions
    })
    markers.push({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex, errorCode: results.find((r) => r.topic === t.name && r.partition === partitionIndex)!.errorCode
        }))
      }))
    })
  }
  return { ...WriteTxnMarkersApi.response.create(), markers }
})
