/**
 * Shared pieces of the compat suites: a neutral reader that checks what the broker stored
 * (raw protocol requests through @samsa/protocol, and the segment files themselves), the
 * broker's advertised API versions (to skip group tests until the coordinator is served),
 * unique topic names and a runner for the Python client scripts.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { type Socket, connect } from 'node:net'
import { join } from 'node:path'
import {
  type ApiDefinition, ApiVersionsApi, CreateTopicsApi, DeleteTopicsApi, FetchApi, FrameDecoder, MetadataApi, LOG_OVERHEAD, decodeRecordBatch,
  decodeResponse, encodeRequest, readAttributes, readBaseOffset, readBatchLength, readLastOffsetDelta, readMagic,
  readPartitionLeaderEpoch, readProducerEpoch, readProducerId, readBaseSequence, readRecordsCount, compressionName,
  COMPRESSION_CODEC_MASK, type CompressionType
} from '@samsa/protocol'
import { createCreatableTopic, createCreateTopicsRequest } from '@samsa/protocol/messages/create-topics'
import { createDeleteTopicsRequest } from '@samsa/protocol/messages/delete-topics'
import { createFetchPartition, createFetchRequest, createFetchTopic } from '@samsa/protocol/messages/fetch'
import { createMetadataRequest, createMetadataRequestTopic } from '@samsa/protocol/messages/metadata'
import { ROOT } from './harness.ts'

export const PYTHON = '/usr/bin/python3'

/** A topic name no other test (or earlier run) uses. */
export function uniqueTopic (prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
}

/** A value that compresses well, so that every client really compresses it. */
export function compressibleValue (i: number, size = 300): string {
  const unit = `record ${i} of the compat lane; `
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size)
}

// ---------------------------------------------------------------------------------------------
// A minimal raw connection

interface RawConnection {
  request<Req, Res> (api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res>
  close (): void
}

async function connectRaw (bootstrap: string): Promise<RawConnection> {
  const at = bootstrap.lastIndexOf(':')
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: bootstrap.slice(0, at), port: Number(bootstrap.slice(at + 1)) }, () => {
      s.off('error', reject)
      resolve(s)
    })
    s.once('error', reject)
  })
  const decoder = new FrameDecoder(256 * 1024 * 1024)
  const waiting: Array<{ resolve: (frame: Buffer) => void, reject: (error: Error) => void }> = []
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk)
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) waiting.shift()?.resolve(frame)
  })
  const fail = (error: Error): void => {
    for (const w of waiting.splice(0)) w.reject(error)
  }
  socket.on('error', fail)
  socket.on('close', () => fail(new Error('The broker closed the connection')))
  let correlationId = 0
  return {
    async request<Req, Res> (api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> {
      const id = ++correlationId
      const frame = await new Promise<Buffer>((resolve, reject) => {
        waiting.push({ resolve, reject })
        for (const b of encodeRequest(api, version, { correlationId: id, clientId: 'samsa-compat' }, body)) socket.write(b)
      })
      const decoded = decodeResponse(api, version, frame)
      if (decoded.correlationId !== id) throw new Error(`Expected correlation id ${id}, got ${decoded.correlationId}`)
      return decoded.body
    },
    close () {
      socket.destroy()
    }
  }
}

/** What the broker advertises in ApiVersions (v3), by API key. */
export async function advertisedApis (bootstrap: string): Promise<Map<number, { min: number, max: number }>> {
  const c = await connectRaw(bootstrap)
  try {
    const body = { ...ApiVersionsApi.request.create(), clientSoftwareName: 'samsa-compat', clientSoftwareVersion: '1.0' }
    const res = await c.request(ApiVersionsApi, 3, body)
    return new Map(res.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]))
  } finally {
    c.close()
  }
}

export const JOIN_GROUP_KEY = 11
export const FIND_COORDINATOR_KEY = 10

/**
 * The skip reason for tests that need consumer groups, or false once the broker advertises
 * JoinGroup (key 11). Checked at run time so those tests run as soon as groups land.
 */
export async function groupsSkipReason (bootstrap: string): Promise<string | false> {
  const apis = await advertisedApis(bootstrap)
  return apis.has(JOIN_GROUP_KEY) ? false : 'consumer groups not served yet'
}

/**
 * Creates a topic with a plain CreateTopics v4 request, for clients without an admin API
 * (kcat). Fails on any error code.
 */
export async function createTopicRaw (bootstrap: string, name: string, numPartitions: number, configs: Record<string, string> = {}): Promise<void> {
  const c = await connectRaw(bootstrap)
  try {
    const topic = { ...createCreatableTopic(), name, numPartitions, replicationFactor: 1, configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }
    const res = await c.request(CreateTopicsApi, 4, { ...createCreateTopicsRequest(), topics: [topic], timeoutMs: 10_000 })
    const r = res.topics[0]
    if (r === undefined || r.errorCode !== 0) throw new Error(`CreateTopics ${name} failed (error ${r?.errorCode}: ${r?.errorMessage})`)
  } finally {
    c.close()
  }
}

/** Deletes topics with a plain DeleteTopics v4 request; returns each topic's error code. */
export async function deleteTopicsRaw (bootstrap: string, names: string[]): Promise<Record<string, number>> {
  const c = await connectRaw(bootstrap)
  try {
    const res = await c.request(DeleteTopicsApi, 4, { ...createDeleteTopicsRequest(), topicNames: names, timeoutMs: 10_000 })
    return Object.fromEntries(res.responses.map((r) => [r.name ?? '', r.errorCode]))
  } finally {
    c.close()
  }
}

// ---------------------------------------------------------------------------------------------
// Reading back what the broker serves and stores

export interface StoredRecord {
  partition: number
  offset: number
  timestamp: number
  key: string | null
  value: Buffer | null
  headers: Array<[string, string | null]>
}

/**
 * Every record of a topic up to the high watermark, read with plain Fetch v11 requests
 * (read_uncommitted) and decoded with Samsa's own record code: a neutral check of what was
 * stored, independent of the client under test.
 */
export async function readAll (bootstrap: string, topic: string): Promise<StoredRecord[]> {
  const c = await connectRaw(bootstrap)
  try {
    const metadataRequest = { ...createMetadataRequest(), topics: [{ ...createMetadataRequestTopic(), name: topic }], allowAutoTopicCreation: false }
    const metadata = await c.request(MetadataApi, 9, metadataRequest)
    const t = metadata.topics[0]
    if (t === undefined || t.errorCode !== 0) throw new Error(`Topic ${topic} not found (error ${t?.errorCode})`)
    const out: StoredRecord[] = []
    for (const p of [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) {
      let offset = 0n
      for (;;) {
        const partition = { ...createFetchPartition(), partition: p.partitionIndex, fetchOffset: offset, partitionMaxBytes: 8 * 1024 * 1024 }
        const request = {
          ...createFetchRequest(),
          replicaId: -1,
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 64 * 1024 * 1024,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [{ ...createFetchTopic(), topic, partitions: [partition] }]
        }
        const res = await c.request(FetchApi, 11, request)
        const data = res.responses[0]?.partitions[0]
        if (data === undefined || data.errorCode !== 0) throw new Error(`Fetch ${topic}-${p.partitionIndex}@${offset} failed (error ${data?.errorCode})`)
        const records = data.records ?? Buffer.alloc(0)
        let at = 0
        while (at + LOG_OVERHEAD <= records.length) {
          const size = LOG_OVERHEAD + readBatchLength(records, at)
          if (at + size > records.length) break
          const batch = decodeRecordBatch(records, at)
          const base = Number(batch.header.baseOffset)
          for (const r of batch.records) {
            if (base + r.offsetDelta < Number(offset)) continue
            out.push({
              partition: p.partitionIndex,
              offset: base + r.offsetDelta,
              timestamp: Number(batch.header.baseTimestamp) + r.timestampDelta,
              key: r.key === null ? null : r.key.toString(),
              value: r.value,
              headers: r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString()])
            })
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

export interface StoredBatch {
  baseOffset: number
  lastOffset: number
  magic: number
  compression: ReturnType<typeof compressionName>
  recordsCount: number
  partitionLeaderEpoch: number
  producerId: bigint
  producerEpoch: number
  baseSequence: number
}

/** The batch headers in a partition's segment files, in offset order (the on-disk truth). */
export function storedBatches (dataDir: string, topic: string, partition = 0): StoredBatch[] {
  const dir = join(dataDir, `${topic}-${partition}`)
  if (!existsSync(dir)) return []
  const out: StoredBatch[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
    const b = readFileSync(join(dir, file))
    let at = 0
    while (at + LOG_OVERHEAD <= b.length) {
      const length = readBatchLength(b, at)
      if (length <= 0 || at + LOG_OVERHEAD + length > b.length) break
      out.push({
        baseOffset: readBaseOffset(b, at),
        lastOffset: readBaseOffset(b, at) + readLastOffsetDelta(b, at),
        magic: readMagic(b, at),
        compression: compressionName((readAttributes(b, at) & COMPRESSION_CODEC_MASK) as CompressionType),
        recordsCount: readRecordsCount(b, at),
        partitionLeaderEpoch: readPartitionLeaderEpoch(b, at),
        producerId: readProducerId(b, at),
        producerEpoch: readProducerEpoch(b, at),
        baseSequence: readBaseSequence(b, at)
      })
      at += LOG_OVERHEAD + length
    }
  }
  return out
}

/** The codecs of the stored batches holding offsets [from, to). */
export function storedCodecs (dataDir: string, topic: string, partition: number, from: number, to: number): string[] {
  return [...new Set(storedBatches(dataDir, topic, partition)
    .filter((b) => b.lastOffset >= from && b.baseOffset < to)
    .map((b) => b.compression))]
}

// ---------------------------------------------------------------------------------------------
// Processes

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to completion, feeding `input` to its stdin. */
export async function run (command: string, args: string[], options: { input?: string | Buffer, timeoutMs?: number } = {}): Promise<RunResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} timed out after ${options.timeoutMs ?? 60_000} ms\n${Buffer.concat(stderr).toString()}`))
    }, options.timeoutMs ?? 60_000)
    child.stdout.on('data', (c: Buffer) => stdout.push(c))
    child.stderr.on('data', (c: Buffer) => stderr.push(c))
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() })
    })
    child.stdin.on('error', () => { /* the child may exit before reading everything */ })
    child.stdin.end(options.input ?? '')
  })
}

/**
 * Runs compat/python/<script> with /usr/bin/python3: `<bootstrap> <scenario> <json args>`.
 * The script prints one JSON document on stdout; a non-zero exit fails with its stderr.
 */
export async function runPython<T = Record<string, unknown>> (script: string, bootstrap: string, scenario: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
  const result = await run(PYTHON, [join(ROOT, 'compat/python', script), bootstrap, scenario, JSON.stringify(args)], { timeoutMs })
  if (result.code !== 0) throw new Error(`${script} ${scenario} exited with ${result.code}:\n${result.stderr}\n${result.stdout}`)
  try {
    return JSON.parse(result.stdout) as T
  } catch {
    throw new Error(`${script} ${scenario} printed no JSON:\n${result.stdout}\n${result.stderr}`)
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T> (what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
