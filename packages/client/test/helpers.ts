/**
 * Helpers for the integration tests: a neutral reader (plain Fetch requests through the
 * testkit's raw connection, decoded with @samsa/protocol's record code, not the client under
 * test), the broker's advertised APIs (to skip tests of APIs it does not serve yet), unique
 * topic names and a process runner for kcat.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  ApiVersionsApi, COMPRESSION_CODEC_MASK, ControlRecordType, FetchApi, readControlRecordKey, LOG_OVERHEAD, MetadataApi, TRANSACTIONAL_FLAG_MASK, ZERO_UUID,
  decodeRecordBatch, readBatchLength, readLastOffsetDelta, type ApiDefinition
} from '@samsa/protocol'
import { createFetchPartition, createFetchRequest, createFetchTopic } from '@samsa/protocol/messages/fetch'
import { connectRaw } from '@samsa/testkit'

export function uniqueTopic (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

export async function advertisedApis (bootstrap: string): Promise<Map<number, { min: number, max: number }>> {
  const c = await connectRaw(bootstrap)
  try {
    const res = await c.request(ApiVersionsApi, 3, { clientSoftwareName: 'samsa-test', clientSoftwareVersion: '1.0' })
    return new Map(res.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]))
  } finally {
    c.close()
  }
}

/** A skip reason naming the APIs the broker does not advertise, or false when it has them all. */
export async function missingApis (bootstrap: string, apis: ReadonlyArray<Pick<ApiDefinition<unknown, unknown>, 'apiKey' | 'name'>>): Promise<string | false> {
  const advertised = await advertisedApis(bootstrap)
  const missing = apis.filter((a) => !advertised.has(a.apiKey)).map((a) => a.name)
  return missing.length === 0 ? false : `the broker does not advertise ${missing.join(', ')} yet`
}

export interface StoredRecord {
  partition: number
  offset: number
  timestamp: number
  key: string | null
  value: string | null
  headers: Array<[string, string | null]>
  /** The stored batch's codec id and transactional flag, and its producer fields. */
  compression: number
  transactional: boolean
  producerId: bigint
  baseSequence: number
}

/**
 * Every record of a topic up to the high watermark (the last stable offset with
 * `isolationLevel` 1), read with plain Fetch v12 requests. With read_committed the records of
 * aborted transactions are dropped as Kafka's consumers do: the broker lists the aborted
 * transactions of the range, and a producer's data is skipped from that transaction's first
 * offset until its ABORT marker.
 */
export async function readAll (bootstrap: string, topic: string, isolationLevel = 0): Promise<StoredRecord[]> {
  const c = await connectRaw(bootstrap)
  try {
    const metadata = await c.request(MetadataApi, 9, { topics: [{ topicId: ZERO_UUID, name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
    const t = metadata.topics[0]
    if (t === undefined || t.errorCode !== 0) throw new Error(`Topic ${topic} not found (error ${t?.errorCode})`)
    const out: StoredRecord[] = []
    for (const p of [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
      let offset = 0n
      const abortedProducers = new Set<bigint>()
      for (;;) {
        const partition = { ...createFetchPartition(), partition: p.partitionIndex, fetchOffset: offset, partitionMaxBytes: 8 * 1024 * 1024 }
        const request = {
          ...createFetchRequest(),
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 64 * 1024 * 1024,
          isolationLevel,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ ...createFetchTopic(), topic, partitions: [partition] }]
        }
        const res = await c.request(FetchApi, 12, request)
        const data = res.responses[0]?.partitions[0]
        // Records deleted below the log start offset: start there.
        if (data !== undefined && data.errorCode === 1 && offset < data.logStartOffset) {
          offset = data.logStartOffset
          continue
        }
        if (data === undefined || data.errorCode !== 0) throw new Error(`Fetch ${topic}-${p.partitionIndex}@${offset} failed (error ${data?.errorCode})`)
        const records = data.records ?? Buffer.alloc(0)
        const aborted = [...(data.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset - b.firstOffset))
        let at = 0
        while (at + LOG_OVERHEAD <= records.length) {
          const size = LOG_OVERHEAD + readBatchLength(records, at)
          if (at + size > records.length) break
          const batch = decodeRecordBatch(records, at)
          const base = Number(batch.header.baseOffset)
          while (aborted.length > 0 && aborted[0]!.firstOffset <= batch.header.baseOffset) abortedProducers.add(aborted.shift()!.producerId)
          const isAborted = isolationLevel === 1 && (batch.header.attributes & TRANSACTIONAL_FLAG_MASK) !== 0 && abortedProducers.has(batch.header.producerId)
          if (batch.header.isControlBatch) {
            const key = readControlRecordKey(batch.records[0]?.key ?? null)
            if (key.type === ControlRecordType.ABORT) abortedProducers.delete(batch.header.producerId)
          } else if (!isAborted) {
            for (const r of batch.records) {
              if (base + r.offsetDelta < Number(offset)) continue
              out.push({
                partition: p.partitionIndex,
                offset: base + r.offsetDelta,
                timestamp: Number(batch.header.baseTimestamp) + r.timestampDelta,
                key: r.key === null ? null : r.key.toString(),
                value: r.value === null ? null : r.value.toString(),
                headers: r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()]),
                compression: batch.header.attributes & COMPRESSION_CODEC_MASK,
                transactional: (batch.header.attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
                producerId: batch.header.producerId,
                baseSequence: batch.header.baseSequence
              })
            }
          }
          offset = BigInt(base + readLastOffsetDelta(records, at) + 1)
          at += size
        }
        if (offset >= data.highWatermark) break
      }
    }
    return out
  } finally {
    c.close()
  }
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command without blocking the event loop (the in-process broker must keep serving). */
export async function run (command: string, args: string[], options: { input?: string, timeoutMs?: number } = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
    child.stdin.end(options.input ?? '')
  })
}
