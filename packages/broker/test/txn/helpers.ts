// Helpers for the transaction tests: the transactional requests at chosen versions through a raw
// client, producer batches, and reading a partition the way read_committed consumers do.
import assert from 'node:assert/strict'
import {
  AddOffsetsToTxnApi, AddPartitionsToTxnApi, ControlRecordType, EndTxnApi, ErrorCode, FetchApi, InitProducerIdApi, ProduceApi, TxnOffsetCommitApi,
  buildRecordBatch, decodeRecordBatch, iterateBatches, readControlRecordKey
} from '@samsa/protocol'
import type { PartitionData } from '@samsa/protocol/messages/fetch'
import type { PartitionProduceResponse } from '@samsa/protocol/messages/produce'
import type { RawClient } from '@samsa/testkit'
import { fetchRequest, onlyPartition } from '../helpers.ts'

export interface ProducerIdAndEpoch {
  producerId: bigint
  producerEpoch: number
}

export async function initProducerId (c: RawClient, transactionalId: string | null, o: { version?: number, timeoutMs?: number, producerId?: bigint, producerEpoch?: number } = {}): Promise<{ errorCode: number } & ProducerIdAndEpoch> {
  const r = await c.request(InitProducerIdApi, o.version ?? 4, {
    transactionalId, transactionTimeoutMs: o.timeoutMs ?? 60000, producerId: o.producerId ?? -1n, producerEpoch: o.producerEpoch ?? -1
  })
  return { errorCode: r.errorCode, producerId: r.producerId, producerEpoch: r.producerEpoch }
}

/** InitProducerId, retrying CONCURRENT_TRANSACTIONS (the previous transaction is being aborted). */
export async function initTransactional (c: RawClient, transactionalId: string, o: { version?: number, timeoutMs?: number } = {}): Promise<ProducerIdAndEpoch> {
  for (let i = 0; i < 100; i++) {
    const r = await initProducerId(c, transactionalId, o)
    if (r.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      continue
    }
    assert.equal(r.errorCode, ErrorCode.NONE, `InitProducerId ${transactionalId}`)
    return r
  }
  assert.fail('InitProducerId kept answering CONCURRENT_TRANSACTIONS')
}

export async function addPartitions (c: RawClient, transactionalId: string, p: ProducerIdAndEpoch, topics: Record<string, number[]>, version = 3): Promise<number[]> {
  const r = await c.request(AddPartitionsToTxnApi, version, {
    ...AddPartitionsToTxnApi.request.create(),
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: Object.entries(topics).map(([name, partitions]) => ({ name, partitions }))
  })
  return r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((x) => x.partitionErrorCode))
}

export async function addOffsets (c: RawClient, transactionalId: string, p: ProducerIdAndEpoch, groupId: string, version = 3): Promise<number> {
  return (await c.request(AddOffsetsToTxnApi, version, { transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId })).errorCode
}

export async function endTxn (c: RawClient, transactionalId: string, p: ProducerIdAndEpoch, committed: boolean, version = 3): Promise<number> {
  return (await c.request(EndTxnApi, version, { transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, committed })).errorCode
}

export async function txnOffsetCommit (c: RawClient, transactionalId: string, p: ProducerIdAndEpoch, groupId: string, topic: string, offsets: Record<number, number>, version = 3): Promise<number[]> {
  const r = await c.request(TxnOffsetCommitApi, version, {
    transactionalId,
    groupId,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: topic, partitions: Object.entries(offsets).map(([partition, offset]) => ({ partitionIndex: Number(partition), committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null })) }]
  })
  return r.topics.flatMap((t) => t.partitions.map((x) => x.errorCode))
}

export interface ProducerBatch {
  producerId: bigint
  producerEpoch: number
  baseSequence: number
  transactional?: boolean
}

/** A batch of `values` (keys = values) from a producer. */
export function producerBatch (values: string[], b: ProducerBatch): Buffer {
  return buildRecordBatch({
    records: values.map((v) => ({ key: v, value: v })),
    producerId: b.producerId,
    producerEpoch: b.producerEpoch,
    baseSequence: b.baseSequence,
    isTransactional: b.transactional ?? false
  })
}

export async function produceRaw (c: RawClient, topic: string, partition: number, records: Buffer, transactionalId: string | null = null, version = 9): Promise<PartitionProduceResponse> {
  const r = await c.request(ProduceApi, version, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] })
  return r.responses[0]!.partitionResponses[0]!
}

export interface ReadRecord {
  offset: number
  value: string | null
  producerId: bigint
  control: 'COMMIT' | 'ABORT' | null
}

/** Fetches one partition from `offset` (read_committed when `isolationLevel` is 1). */
export async function fetchPartition (c: RawClient, topic: string, partition: number, isolationLevel: number, offset = 0): Promise<PartitionData> {
  const response = await c.request(FetchApi, 11, fetchRequest([{ topic, partition, offset }], { isolationLevel }))
  assert.equal(response.errorCode, ErrorCode.NONE)
  return onlyPartition(response)
}

/**
 * What a consumer with this isolation level sees of a partition: read_committed stops at the
 * LSO and drops the batches of aborted transactions (as clients do with AbortedTransactions);
 * control batches are skipped.
 */
export async function consume (c: RawClient, topic: string, partition: number, isolationLevel: number): Promise<string[]> {
  const data = await fetchPartition(c, topic, partition, isolationLevel)
  const records = data.records
  if (records === null) return []
  const aborted = new Map<bigint, number[]>()
  for (const t of data.abortedTransactions ?? []) aborted.set(t.producerId, [...(aborted.get(t.producerId) ?? []), Number(t.firstOffset)])
  const abortedNow = new Set<bigint>()
  const out: string[] = []
  for (const entry of iterateBatches(records)) {
    const batch = decodeRecordBatch(records, entry.position)
    const h = batch.header
    const base = Number(h.baseOffset)
    for (const [pid, starts] of aborted) if (starts.some((s) => s <= base)) { abortedNow.add(pid); aborted.set(pid, starts.filter((s) => s > base)) }
    if (h.isControlBatch) {
      if (readControlRecordKey(batch.records[0]!.key).type === ControlRecordType.ABORT) abortedNow.delete(h.producerId)
      continue
    }
    if (isolationLevel === 1 && h.isTransactional && abortedNow.has(h.producerId)) continue
    for (const r of batch.records) out.push(r.value?.toString() ?? '')
  }
  return out
}

/** Every batch of a partition up to its log end (read_uncommitted), with control batches named. */
export async function readBatches (c: RawClient, topic: string, partition: number): Promise<ReadRecord[]> {
  const data = await fetchPartition(c, topic, partition, 0)
  const out: ReadRecord[] = []
  if (data.records === null) return out
  for (const entry of iterateBatches(data.records)) {
    const batch = decodeRecordBatch(data.records, entry.position)
    const h = batch.header
    if (h.isControlBatch) {
      const type = readControlRecordKey(batch.records[0]!.key).type
      out.push({ offset: Number(h.baseOffset), value: null, producerId: h.producerId, control: type === ControlRecordType.COMMIT ? 'COMMIT' : 'ABORT' })
      continue
    }
    for (const r of batch.records) out.push({ offset: Number(h.baseOffset) + r.offsetDelta, value: r.value?.toString() ?? null, producerId: h.producerId, control: null })
  }
  return out
}

export async function waitFor (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
