/**
 * Protocol codec hot paths: decoding a Produce request carrying 1 MB of record batches and
 * encoding a Fetch response carrying 1 MB, in MB/s, beside the cost of simply copying 1 MB
 * (the floor a codec that copied the records once would pay).
 *
 *   node --import tsx bench/protocol.bench.ts
 */
import { decodeRequest, encodeRequest, encodeResponse } from '../packages/protocol/src/frame.ts'
import { FetchApi, ProduceApi } from '../packages/protocol/src/messages/index.ts'
import { type FetchResponse, createFetchResponse, createFetchableTopicResponse, createPartitionData } from '../packages/protocol/src/messages/fetch.ts'
import { type ProduceRequest, createProduceRequest, createTopicProduceData, createPartitionProduceData } from '../packages/protocol/src/messages/produce.ts'
import { machine, measure, ratio } from './harness.ts'

const MB = 1 << 20
console.log(`# protocol codecs — ${machine()}`)

// 16 partitions × 64 KiB of record-batch bytes = 1 MiB per request/response.
const PARTITIONS = 16
const batch = Buffer.alloc(MB / PARTITIONS, 0x61)

const produce: ProduceRequest = {
  ...createProduceRequest(),
  acks: -1,
  timeoutMs: 30000,
  topicData: [{
    ...createTopicProduceData(),
    name: 'bench-topic',
    partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({ ...createPartitionProduceData(), index, records: batch }))
  }]
}

for (const version of [7, 9]) {
  const frame = Buffer.concat(encodeRequest(ProduceApi, version, { correlationId: 1, clientId: 'bench' }, produce)).subarray(4)
  measure(`decode Produce v${version} request (1 MiB of batches)`, () => decodeRequest(frame), { bytes: frame.length })
}

const fetch: FetchResponse = {
  ...createFetchResponse(),
  responses: [{
    ...createFetchableTopicResponse(),
    topic: 'bench-topic',
    topicId: '8d5f3b4a-7a52-4e4e-9a0b-2c8f1e6d3b21',
    partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
      ...createPartitionData(), partitionIndex, highWatermark: 1000n, lastStableOffset: 1000n, logStartOffset: 0n, records: batch
    }))
  }]
}

let fetchBytes = 0
for (const version of [11, 16]) {
  measure(`encode Fetch v${version} response (1 MiB, records linked)`, () => {
    const chunks = encodeResponse(FetchApi, version, 1, fetch)
    fetchBytes = chunks.reduce((n, c) => n + c.length, 0)
  }, { bytes: MB })
}
// References: what one copy of the 1 MiB payload costs (memcpy into a reused buffer, and with a
// fresh allocation as a concatenating encoder would pay). The codec links records instead.
const source = Buffer.alloc(MB, 0x62)
const target = Buffer.allocUnsafe(MB)
const memcpy = measure('reference: memcpy 1 MiB into a reused buffer', () => source.copy(target, 0), { bytes: MB })
const alloc = measure('reference: allocate + copy 1 MiB (Buffer.from)', () => Buffer.from(source), { bytes: MB })
const linked = measure('encode Fetch v16 response (again, for the ratios)', () => encodeResponse(FetchApi, 16, 1, fetch), { bytes: MB })
ratio('Fetch v16 encode vs memcpy of its payload', linked, memcpy)
ratio('Fetch v16 encode vs allocate+copy of its payload', linked, alloc)
console.log(`(a Fetch v16 response of 1 MiB records is ${fetchBytes} bytes on the wire)`)
