/**
 * Group coordinator benchmarks:
 *
 * 1. Rebalance time of a 10-member classic group (group.initial.rebalance.delay.ms=0) after an
 *    11th member joins, and after a member crashes (its socket dies, no LeaveGroup: detected by
 *    the session timeout, 6000 ms here; with Kafka's default 45000 ms add 39 s). Members are
 *    protocol-level clients that behave like Kafka's Java consumer: they learn of a rebalance
 *    from their next heartbeat (heartbeat.interval.ms 3000, the Java default) and rejoin at
 *    once; the leader runs a range assignment. Also measured with 100 ms heartbeats, which
 *    leaves mostly the coordinator's own time.
 * 2. OffsetCommit throughput from 100 concurrent consumers (raw OffsetCommit v8 requests, one
 *    in flight per consumer, each committing 1 or 10 partitions of its own group).
 * 3. Heap per 10,000 groups: simple groups (one committed offset), classic groups (one member
 *    and one offset) and KIP-848 groups (one member and one offset), coordinator state only.
 *
 *   node --conditions=samsa:source --import tsx bench/groups.bench.ts [--quick] [--only=rebalance|commits|memory]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  ErrorCode, HeartbeatApi, JoinGroupApi, LeaveGroupApi, OffsetCommitApi, SyncGroupApi, decodeSubscription, encodeAssignment, encodeSubscription
} from '@samsa/protocol'
import { LogManager, logConfig } from '@samsa/storage'
import { type RawClient, connectRaw, startBroker } from '@samsa/testkit'
import { silentLogger } from '../packages/broker/src/logger.ts'
import { MemoryMetadataStore } from '../packages/broker/src/metadata/metadata-store.ts'
import { TopicRegistry } from '../packages/broker/src/topics/topic-registry.ts'
import { DEFAULT_GROUP_COORDINATOR_CONFIG } from '../packages/broker/src/group/group-config.ts'
import { GroupCoordinator } from '../packages/broker/src/group/group-coordinator.ts'
import { machine } from './harness.ts'

const quick = process.argv.includes('--quick')
console.log(`# groups — ${machine()}`)

// ---------------------------------------------------------------------------------------------
// 1. Rebalances

const TOPIC = 'bench-topic'
const PARTITIONS = 30

class Member {
  readonly name: string
  readonly heartbeatMs: number
  readonly sessionTimeoutMs: number
  readonly groupId: string
  #client: RawClient | undefined
  memberId = ''
  generation = -1
  synced = -1
  #timer: NodeJS.Timeout | undefined
  #joining = false
  dead = false

  constructor (name: string, groupId: string, heartbeatMs: number, sessionTimeoutMs: number) {
    this.name = name
    this.groupId = groupId
    this.heartbeatMs = heartbeatMs
    this.sessionTimeoutMs = sessionTimeoutMs
  }

  async start (bootstrap: string): Promise<void> {
    this.#client = await connectRaw(bootstrap, this.name)
    void this.#join()
  }

  async #join (): Promise<void> {
    if (this.#joining || this.dead) return
    this.#joining = true
    const c = this.#client!
    try {
      for (;;) {
        if (this.dead) return
        const j = await c.request(JoinGroupApi, 5, {
          groupId: this.groupId, sessionTimeoutMs: this.sessionTimeoutMs, rebalanceTimeoutMs: 30000, memberId: this.memberId, groupInstanceId: null,
          protocolType: 'consumer', protocols: [{ name: 'range', metadata: encodeSubscription({ topics: [TOPIC] }, 0) }], reason: null
        })
        if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) { this.memberId = j.memberId; continue }
        if (j.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) { this.memberId = ''; continue }
        if (j.errorCode !== ErrorCode.NONE) continue
        this.memberId = j.memberId
        this.generation = j.generationId
        const assignments = j.leader === j.memberId ? rangeAssign(j.members.map((m) => ({ memberId: m.memberId, topics: decodeSubscription(m.metadata).topics }))) : []
        const s = await c.request(SyncGroupApi, 3, { groupId: this.groupId, generationId: j.generationId, memberId: this.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments })
        if (s.errorCode !== ErrorCode.NONE) continue
        this.synced = j.generationId
        break
      }
    } catch {
      return
    } finally {
      this.#joining = false
    }
    this.#scheduleHeartbeat()
  }

  #scheduleHeartbeat (): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { void this.#heartbeat() }, this.heartbeatMs)
  }

  async #heartbeat (): Promise<void> {
    if (this.dead) return
    try {
      const r = await this.#client!.request(HeartbeatApi, 3, { groupId: this.groupId, generationId: this.generation, memberId: this.memberId, groupInstanceId: null })
      if (r.errorCode === ErrorCode.NONE) this.#scheduleHeartbeat()
      else {
        if (r.errorCode !== ErrorCode.REBALANCE_IN_PROGRESS) this.memberId = ''
        void this.#join()
      }
    } catch { /* crashed */ }
  }

  /** Dies without a LeaveGroup. */
  crash (): void {
    this.dead = true
    clearTimeout(this.#timer)
    this.#client?.close()
  }

  async leave (): Promise<void> {
    this.dead = true
    clearTimeout(this.#timer)
    await this.#client!.request(LeaveGroupApi, 3, { groupId: this.groupId, memberId: '', members: [{ memberId: this.memberId, groupInstanceId: null, reason: null }] })
    this.#client!.close()
  }
}

function rangeAssign (members: Array<{ memberId: string, topics: string[] }>): Array<{ memberId: string, assignment: Buffer }> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
  const per = Math.floor(PARTITIONS / sorted.length)
  const extra = PARTITIONS % sorted.length
  let next = 0
  return sorted.map((m, i) => {
    const n = per + (i < extra ? 1 : 0)
    const partitions = Array.from({ length: n }, () => next++)
    return { memberId: m.memberId, assignment: encodeAssignment({ assignedPartitions: [{ topic: TOPIC, partitions }] }, 0) }
  })
}

async function until (condition: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

const stableAt = (members: Member[], generation: number): boolean => members.every((m) => m.synced >= generation) && new Set(members.map((m) => m.synced)).size === 1

async function rebalances (heartbeatMs: number, sessionTimeoutMs: number, runs: number): Promise<void> {
  const broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': 0 } })
  try {
    const admin = await connectRaw(broker.bootstrap)
    const groupId = `bench-${heartbeatMs}`
    const members: Member[] = []
    for (let i = 0; i < 10; i++) {
      const m = new Member(`m${i}`, groupId, heartbeatMs, sessionTimeoutMs)
      members.push(m)
      await m.start(broker.bootstrap)
    }
    await until(() => stableAt(members, 1) && members.every((m) => m.synced > 0))
    const joinTimes: number[] = []
    const crashTimes: number[] = []
    for (let r = 0; r < runs; r++) {
      // A member joins, at a random point of the members' heartbeat cycle.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * heartbeatMs))
      let gen = Math.max(...members.map((m) => m.synced))
      const extra = new Member(`extra${r}`, groupId, heartbeatMs, sessionTimeoutMs)
      let t0 = performance.now()
      await extra.start(broker.bootstrap)
      members.push(extra)
      await until(() => stableAt(members, gen + 1))
      joinTimes.push(performance.now() - t0)
      // A member crashes, at a random point of the heartbeat cycle.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * heartbeatMs))
      gen = Math.max(...members.map((m) => m.synced))
      const victim = members.shift()!
      t0 = performance.now()
      victim.crash()
      await until(() => stableAt(members, gen + 1), sessionTimeoutMs + 60_000)
      crashTimes.push(performance.now() - t0)
    }
    const fmt = (xs: number[]): string => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, ${xs.length} runs)`
    console.log(`10-member group, heartbeat ${heartbeatMs} ms: 11th member joins -> all stable: ${fmt(joinTimes)}`)
    console.log(`11-member group, heartbeat ${heartbeatMs} ms, session ${sessionTimeoutMs} ms: one crashes -> 10 stable: ${fmt(crashTimes)}`)
    for (const m of members) m.crash()
    admin.close()
  } finally {
    await broker.stop()
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

// ---------------------------------------------------------------------------------------------
// 2. OffsetCommit throughput

async function commitThroughput (consumers: number, partitionsPerCommit: number, seconds: number): Promise<void> {
  const broker = await startBroker()
  try {
    const setup = await connectRaw(broker.bootstrap)
    const { CreateTopicsApi } = await import('@samsa/protocol')
    await setup.request(CreateTopicsApi, 7, { topics: [{ name: TOPIC, numPartitions: 10, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false })
    const clients = await Promise.all(Array.from({ length: consumers }, async () => await connectRaw(broker.bootstrap)))
    let commits = 0
    let failures = 0
    const commitOnce = async (c: RawClient, i: number, offset: number): Promise<void> => {
      const r = await c.request(OffsetCommitApi, 8, {
        groupId: `commit-bench-${i}`, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
        topics: [{ name: TOPIC, partitions: Array.from({ length: partitionsPerCommit }, (_, p) => ({ partitionIndex: p, committedOffset: BigInt(offset), committedLeaderEpoch: -1, commitTimestamp: -1n, committedMetadata: '' })) }]
      })
      if (r.topics[0]!.partitions.some((p) => p.errorCode !== 0)) failures++
    }
    // Warm-up: create every group.
    await Promise.all(clients.map(async (c, i) => await commitOnce(c, i, 0)))
    let running = true
    const start = performance.now()
    await Promise.all([
      new Promise<void>((resolve) => setTimeout(() => { running = false; resolve() }, seconds * 1000)),
      ...clients.map(async (c, i) => {
        let offset = 1
        while (running) {
          await commitOnce(c, i, offset++)
          commits++
        }
      })
    ])
    const elapsed = (performance.now() - start) / 1000
    console.log(`OffsetCommit, ${consumers} consumers, ${partitionsPerCommit} partition(s) per commit: ${(commits / elapsed).toFixed(0)} commits/s (${(commits * partitionsPerCommit / elapsed).toFixed(0)} offsets/s), ${failures} failed`)
    for (const c of clients) c.close()
    setup.close()
  } finally {
    await broker.stop()
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Memory per 10,000 groups

function gc (): void {
  const g = (globalThis as { gc?: () => void }).gc ?? (() => {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  })()
  g()
  g()
}

async function memory (kind: 'simple' | 'classic' | 'consumer', groups: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-groups-bench-'))
  // The coordinator's timers are unref'd (a broker's sockets keep it alive); here nothing else does.
  const keepAlive = setInterval(() => undefined, 1000)
  try {
    const logManager = await LogManager.open({ dataDir: dir, cleanerEnable: false })
    const topics = new TopicRegistry({
      store: new MemoryMetadataStore(), logManager, nodeId: 1, brokerIds: () => [1], logConfigFor: (o) => logConfig(o['cleanup.policy'] === 'compact' ? { 'cleanup.policy': ['compact'] } : {}), logger: silentLogger
    })
    await topics.load()
    await topics.create({ name: TOPIC, numPartitions: 10, replicationFactor: 1, configs: {} })
    const coordinator = new GroupCoordinator({ topics, config: { ...DEFAULT_GROUP_COORDINATOR_CONFIG, initialRebalanceDelayMs: 0 }, logger: silentLogger })
    coordinator.start()
    await coordinator.ensureOffsetsTopic()
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < groups; i++) {
      const groupId = `memory-group-${i}`
      let generation = -1
      let memberId = ''
      if (kind === 'classic') {
        const j = await coordinator.joinGroup({
          groupId, memberId: '', groupInstanceId: null, sessionTimeoutMs: 45000, rebalanceTimeoutMs: 300000, protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: encodeSubscription({ topics: [TOPIC] }, 0) }], reason: null, clientId: 'consumer-1', clientHost: '/127.0.0.1',
          requireKnownMemberId: false, supportSkippingAssignment: false
        })
        generation = j.generationId
        memberId = j.memberId
        await coordinator.syncGroup({ groupId, generationId: generation, memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId, assignment: encodeAssignment({ assignedPartitions: [{ topic: TOPIC, partitions: [0] }] }, 0) }] })
      } else if (kind === 'consumer') {
        memberId = `member-${i}`
        const r = await coordinator.consumerGroupHeartbeat({
          groupId, memberId, memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 300000, subscribedTopicNames: [TOPIC], subscribedTopicRegex: null,
          serverAssignor: null, topicPartitions: [], clientId: 'consumer-1', clientHost: '/127.0.0.1', apiVersion: 1
        })
        generation = r.memberEpoch
      }
      await coordinator.commitOffsets({ groupId, generationIdOrMemberEpoch: generation, memberId, groupInstanceId: null, retentionTimeMs: -1, apiVersion: 9, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, committedOffset: 1000, committedLeaderEpoch: 0, committedMetadata: '' }] }] })
    }
    gc()
    const after = process.memoryUsage().heapUsed
    console.log(`heap for ${groups} ${kind} groups (${kind === 'simple' ? 'one offset' : 'one member and one offset'} each): ${((after - before) / 1024 / 1024).toFixed(1)} MB (${((after - before) / groups).toFixed(0)} bytes per group)`)
    coordinator.stop()
    await logManager.close()
  } finally {
    clearInterval(keepAlive)
    rmSync(dir, { recursive: true, force: true })
  }
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)
if (only === undefined || only === 'rebalance') {
  await rebalances(3000, 6000, quick ? 1 : 5)
  await rebalances(100, 6000, quick ? 2 : 5)
}
if (only === undefined || only === 'commits') {
  await commitThroughput(100, 1, quick ? 2 : 5)
  await commitThroughput(100, 10, quick ? 2 : 5)
}
if (only === undefined || only === 'memory') {
  for (const kind of ['simple', 'classic', 'consumer'] as const) await memory(kind, 10_000)
}
