// A network partition on a real etcd (issue 8: "a broker cut off from the others and from etcd
// cannot acknowledge acks=all writes on its own; when it returns it truncates and catches up").
//
// Three in-process brokers share one etcd. Broker L (node 3) leads both partitions of a topic
// (RF 3, min.insync.replicas=2) and sits behind two TCP proxies the test controls (testkit's
// startTcpProxy), which stand in for a network namespace or a firewall rule:
//   - L's metadata store is etcd://<etcd proxy>, so every etcd call L makes goes through it;
//   - L advertises its listener as the <peer proxy> (advertised.listeners), so the followers'
//     replica fetches (and any client that learnt L's address from Metadata) go through it.
// Cutting both isolates L from etcd and from its peers, in two ways, one test each: 'reset'
// (connections reset, new ones refused: a blocked port) and 'blackhole' (bytes held, nothing
// closed, as when packets are dropped; delivered when the link comes back),
// while the test keeps a connection to L's real port: a client on L's side of the partition
// with stale metadata. L's own outgoing replica fetches (it would fetch only as a follower,
// which it cannot become while it cannot hear from etcd) are not proxied; they need not be.
//
// Why this is enough, and why etcd is what decides: L cannot acknowledge an acks=all write
// without every ISR member having it, and the ISR can only shrink through a compare-and-swap in
// etcd, which L cannot reach. The followers stop fetching from L at the latest when they learn
// the new leader from etcd (here at once, the peer proxy is cut too); the controller elects that
// leader from the ISR when L's lease expires. So whatever L acknowledged, the new leader has.
//
// Steps: (a) the cut: L's lease expires, the controller elects a new leader from the ISR, the
// other follower follows it; (b) acks=all writes sent straight to L meanwhile get an error,
// never NONE for a record the new leader lacks (the codes seen are reported as diagnostics);
// (c) acks=all writes to the new leader succeed; (d) the proxies restored: L learns it is no
// longer leader, truncates what it appended alone, catches up and rejoins the ISR; all three
// replicas end byte-identical and every acknowledged record is there exactly once, none of the
// refused ones. Skipped, with a message, when /usr/bin/etcd is not installed.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type TestContext } from 'node:test'
import { Broker, type Logger, createLogger, embeddedBrokerOptions, isLogLevel, silentLogger } from '@samsa/broker'
import { CreateTopicsApi, ErrorCode, ProduceApi, buildRecordBatch, decodeRecordBatch, iterateBatches } from '@samsa/protocol'
import { type CutMode, type RawClient, connectRaw, etcdAvailable, freePort, startEtcd, startTcpProxy } from '@samsa/testkit'

const skip = etcdAvailable() ? undefined : 'etcd is not installed at /usr/bin/etcd (Debian package etcd-server): etcd partition test skipped'

const TOPIC = 'partitioned'
const PARTITIONS = [0, 1]
const L = 3
const CONFIG: Record<string, string> = {
  'broker.session.timeout.ms': '2000',
  'replica.lag.time.max.ms': '2000',
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '50',
  'controlled.shutdown.retry.backoff.ms': '500',
  'group.initial.rebalance.delay.ms': '0',
  'auto.create.topics.enable': 'false',
  // Leadership stays where the election put it (no move back to L once it rejoins).
  'auto.leader.rebalance.enable': 'false'
}

function loggerFor (nodeId: number): Logger {
  const level = process.env.SAMSA_TEST_LOG_LEVEL
  return level !== undefined && isLogLevel(level) ? createLogger(level).child({ node: nodeId }) : silentLogger
}

async function until<T> (what: string, check: () => T | false | undefined | Promise<T | false | undefined>, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await check()
    if (result !== false && result !== undefined) return result
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

interface Outcome {
  partition: number
  errorCode: number
  errorMessage: string | null
  baseOffset: number
  ms: number
}

/** A batch whose records have these keys (values = keys). */
function batchWithKeys (keys: string[]): Buffer {
  return buildRecordBatch({ records: keys.map((key, i) => ({ key, value: key, timestamp: 1_700_000_000_000 + i })) })
}

/** One Produce request (acks=all), one batch per partition in `keys`; one outcome per partition. */
async function produceAll (c: RawClient, keys: Map<number, string[]>, timeoutMs: number): Promise<Outcome[]> {
  const started = Date.now()
  const response = await c.request(ProduceApi, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs,
    topicData: [{
      name: TOPIC,
      partitionData: [...keys].map(([index, k]) => ({ index, records: batchWithKeys(k) }))
    }]
  })
  return response.responses[0]!.partitionResponses.map((p) => ({
    partition: p.index, errorCode: p.errorCode, errorMessage: p.errorMessage ?? null, baseOffset: Number(p.baseOffset), ms: Date.now() - started
  }))
}

const codeNames = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]))
const codeName = (code: number): string => `${codeNames.get(code) ?? 'UNKNOWN'}(${code})`

for (const mode of ['reset', 'blackhole'] as const) {
  test(`etcd partition (${mode}): a leader cut off from etcd and its peers acknowledges nothing alone, then truncates, catches up and rejoins`, {
    timeout: 180_000, ...(skip === undefined ? {} : { skip })
  }, async (t) => await partitionScenario(t, mode))
}

async function partitionScenario (t: TestContext, mode: CutMode): Promise<void> {
  const etcd = await startEtcd()
  t.after(() => etcd.stop())
  const etcdProxy = await startTcpProxy({ target: etcd.clientPort })
  t.after(() => etcdProxy.close())
  const lPort = await freePort()
  const peerProxy = await startTcpProxy({ target: lPort })
  t.after(() => peerProxy.close())

  const brokers = new Map<number, Broker>()
  const dirs: string[] = []
  // Stop the brokers (registered after etcd and the proxies, so it runs before them).
  t.after(async () => {
    await Promise.all([...brokers.values()].map(async (b) => await b.kill().catch(() => undefined)))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const startNode = async (nodeId: number): Promise<Broker> => {
    const dir = mkdtempSync(join(tmpdir(), `samsa-partition-${nodeId}-`))
    dirs.push(dir)
    const isL = nodeId === L
    const broker = await Broker.start(embeddedBrokerOptions({
      config: {
        ...CONFIG,
        'node.id': String(nodeId),
        'log.dirs': dir,
        listeners: `PLAINTEXT://127.0.0.1:${isL ? lPort : 0}`,
        'metadata.store': isL ? `etcd://127.0.0.1:${etcdProxy.port}` : etcd.url,
        ...(isL ? { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${peerProxy.port}` } : {})
      },
      logger: loggerFor(nodeId)
    }))
    brokers.set(nodeId, broker)
    return broker
  }
  // Node 1 first, so it (not L) holds the controller role.
  await startNode(1)
  await until('node 1 to be the controller', () => brokers.get(1)!.controller?.active === true)
  await startNode(2)
  await startNode(L)
  const port = (id: number): number => brokers.get(id)!.boundListeners[0]!.port
  const view = (id: number, partition: number) => {
    const p = brokers.get(id)!.topics.anyPartition(TOPIC, partition)
    assert.ok(p !== undefined, `broker ${id} does not know ${TOPIC}-${partition}`)
    return p
  }

  const admin = await connectRaw(`127.0.0.1:${port(1)}`)
  t.after(() => admin.close())
  const created = await admin.request(CreateTopicsApi, 7, {
    topics: [{
      name: TOPIC,
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [{ partitionIndex: 0, brokerIds: [L, 1, 2] }, { partitionIndex: 1, brokerIds: [L, 2, 1] }],
      configs: [{ name: 'min.insync.replicas', value: '2' }]
    }],
    timeoutMs: 5000,
    validateOnly: false
  })
  assert.equal(created.topics[0]!.errorCode, ErrorCode.NONE, `CreateTopics: ${created.topics[0]!.errorMessage}`)
  await until('L to lead both partitions with full ISRs, seen by every broker', () => PARTITIONS.every((p) =>
    [1, 2, L].every((id) => brokers.get(id)!.topics.anyPartition(TOPIC, p)?.leaderId === L) &&
    view(L, p).isLeader && view(L, p).isr.length === 3))
  const epochBefore = PARTITIONS.map((p) => view(L, p).leaderEpoch)

  // Acknowledged records, per partition, in order: what must survive exactly once.
  const acked = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]))
  const refused = new Map<number, string[]>(PARTITIONS.map((p) => [p, []]))
  const toL = await connectRaw(`127.0.0.1:${lPort}`, 'stale-client')
  t.after(() => toL.close())
  let seq = 0
  const keysFor = (prefix: string) => (p: number): string[] => Array.from({ length: 5 }, (_, i) => `${prefix}-p${p}-${seq}-${i}`)
  const record = (outcomes: Outcome[], keys: Map<number, string[]>): void => {
    for (const o of outcomes) (o.errorCode === ErrorCode.NONE ? acked : refused).get(o.partition)!.push(...keys.get(o.partition)!)
  }
  for (let i = 0; i < 5; i++, seq++) {
    const keys = new Map(PARTITIONS.map((p) => [p, keysFor('before')(p)]))
    const outcomes = await produceAll(toL, keys, 5000)
    for (const o of outcomes) assert.equal(o.errorCode, ErrorCode.NONE, `before the cut, p${o.partition}: ${codeName(o.errorCode)}`)
    record(outcomes, keys)
  }
  const followerLeoBefore = PARTITIONS.map((p) => view(1, p).log.logEndOffset)
  t.diagnostic(`before the cut: leader ${L}, epochs ${epochBefore.join('/')}, log ends ${followerLeoBefore.join('/')}`)

  // ---- (a) the cut
  const cutAt = Date.now()
  etcdProxy.cut(mode)
  peerProxy.cut(mode)
  const since = (): number => Date.now() - cutAt

  // (b) meanwhile, a client that still talks to L writes acks=all, until the election is done
  // everywhere and a little after.
  const stale: Array<Outcome & { at: number }> = []
  let electedAt: number | undefined
  let newLeaders: number[] = []
  const elected = (): boolean => PARTITIONS.every((p) => {
    const a = view(1, p)
    const b = view(2, p)
    return a.leaderId !== L && a.leaderId > 0 && a.leaderEpoch > epochBefore[p]! && b.leaderId === a.leaderId &&
      b.leaderEpoch === a.leaderEpoch && view(a.leaderId, p).isLeader
  })
  const watcher = until('a new leader elected from the ISR', () => {
    if (!elected()) return false
    electedAt = since()
    newLeaders = PARTITIONS.map((p) => view(1, p).leaderId)
    return true
  }, 30000)
  const staleWrites = (async () => {
    while (electedAt === undefined || since() < electedAt + 3000) {
      const keys = new Map(PARTITIONS.map((p) => [p, keysFor('stale')(p)]))
      seq++
      const at = since()
      let outcomes: Outcome[]
      try {
        outcomes = await produceAll(toL, keys, 1500)
      } catch (error) {
        // L closed the connection: nothing was acknowledged.
        t.diagnostic(`stale produce at +${at} ms: connection error ${(error as Error).message}`)
        for (const p of PARTITIONS) refused.get(p)!.push(...keys.get(p)!)
        break
      }
      record(outcomes, keys)
      for (const o of outcomes) stale.push({ ...o, at })
      if (since() > 60000) break
    }
  })()
  await watcher
  await staleWrites
  t.diagnostic(`(a) new leaders ${newLeaders.join('/')} elected ${electedAt} ms after the cut; epochs ${PARTITIONS.map((p) => view(newLeaders[p]!, p).leaderEpoch).join('/')}; ISRs ${PARTITIONS.map((p) => JSON.stringify(view(newLeaders[p]!, p).isr)).join(' ')}`)
  for (const o of stale) t.diagnostic(`(b) stale acks=all to L at +${o.at} ms, p${o.partition}: ${codeName(o.errorCode)} after ${o.ms} ms${o.errorMessage === null ? '' : ` (${o.errorMessage})`}`)
  assert.ok(stale.length > 0, 'at least one stale write was answered')
  const staleOk = stale.filter((o) => o.errorCode === ErrorCode.NONE)
  assert.deepEqual(staleOk.map((o) => `p${o.partition}@${o.baseOffset}`), [], 'L acknowledged acks=all writes while cut off from etcd and its peers')
  for (const o of stale) {
    assert.ok(([ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND] as number[]).includes(o.errorCode),
      `unexpected error for a stale write to p${o.partition}: ${codeName(o.errorCode)}`)
  }
  // The other follower follows the new leader.
  for (const p of PARTITIONS) {
    const leader = newLeaders[p]!
    const other = [1, 2].find((id) => id !== leader)!
    await until(`broker ${other} to follow ${leader} on p${p}`, () => view(other, p).role === 'follower' && view(other, p).leaderId === leader)
  }
  const lView = PARTITIONS.map((p) => ({ leo: view(L, p).log.logEndOffset, hw: view(L, p).log.highWatermark, role: view(L, p).role, epoch: view(L, p).leaderEpoch, isr: [...view(L, p).isr] }))
  t.diagnostic(`L while cut off: ${PARTITIONS.map((p) => `p${p} role=${lView[p]!.role} epoch=${lView[p]!.epoch} isr=${JSON.stringify(lView[p]!.isr)} leo=${lView[p]!.leo} hw=${lView[p]!.hw}`).join('; ')}`)

  // ---- (c) writes to the new leader with acks=all succeed.
  const firstWrites: number[] = []
  for (let i = 0; i < 5; i++, seq++) {
    const keys = new Map(PARTITIONS.map((p) => [p, keysFor('after')(p)]))
    for (const p of PARTITIONS) {
      const c = await connectRaw(`127.0.0.1:${port(newLeaders[p]!)}`)
      try {
        const outcomes = await produceAll(c, new Map([[p, keys.get(p)!]]), 5000)
        const o = outcomes.find((x) => x.partition === p)!
        assert.equal(o.errorCode, ErrorCode.NONE, `(c) acks=all to the new leader ${newLeaders[p]} of p${p}: ${codeName(o.errorCode)}`)
        acked.get(p)!.push(...keys.get(p)!)
        if (i === 0) firstWrites.push(since())
      } finally {
        c.close()
      }
    }
  }
  t.diagnostic(`(c) acks=all to the new leaders: ok, first at +${firstWrites.join('/')} ms after the cut`)

  // ---- (d) the partition heals.
  const restoredAt = Date.now()
  etcdProxy.restore()
  peerProxy.restore()
  await until('L to follow the new leaders, caught up, back in every ISR', () => PARTITIONS.every((p) => {
    const leader = view(newLeaders[p]!, p)
    const l = view(L, p)
    return l.role === 'follower' && l.leaderId === newLeaders[p] && leader.isr.includes(L) &&
      l.log.logEndOffset === leader.log.logEndOffset
  }), 30000)
  t.diagnostic(`(d) L rejoined every ISR ${Date.now() - restoredAt} ms after the proxies were restored`)
  // One more acks=all round now that all three are in sync.
  for (const p of PARTITIONS) {
    const c = await connectRaw(`127.0.0.1:${port(newLeaders[p]!)}`)
    try {
      const keys = keysFor('healed')(p)
      const o = (await produceAll(c, new Map([[p, keys]]), 5000)).find((x) => x.partition === p)!
      assert.equal(o.errorCode, ErrorCode.NONE, `acks=all after healing, p${p}: ${codeName(o.errorCode)}`)
      acked.get(p)!.push(...keys)
    } finally {
      c.close()
    }
  }
  seq++

  for (const p of PARTITIONS) {
    const leader = newLeaders[p]!
    await until(`every replica of p${p} at the leader's log end and high watermark`, () => {
      const l = view(leader, p).log
      return l.highWatermark === l.logEndOffset && [1, 2, L].every((id) => view(id, p).log.logEndOffset === l.logEndOffset && view(id, p).log.highWatermark === l.highWatermark)
    })
    const end = view(leader, p).log.logEndOffset
    const bytes = (id: number): Buffer => Buffer.from(view(id, p).log.read(0, { maxBytes: 64 * 1024 * 1024, maxOffset: end }).records)
    const expected = bytes(leader)
    for (const id of [1, 2, L]) assert.ok(bytes(id).equals(expected), `replica ${id} of p${p} differs from the leader ${leader}`)
    // Every acknowledged record exactly once, in order; none of the refused ones.
    const keys: string[] = []
    for (const entry of iterateBatches(expected)) {
      for (const r of decodeRecordBatch(expected, entry.position).records) keys.push(r.key?.toString('utf8') ?? '')
    }
    const count = new Map<string, number>()
    for (const k of keys) count.set(k, (count.get(k) ?? 0) + 1)
    assert.deepEqual([...count].filter(([, n]) => n > 1), [], `p${p}: records duplicated`)
    assert.deepEqual(keys.filter((k) => acked.get(p)!.includes(k)), acked.get(p), `p${p}: acknowledged records missing or out of order`)
    const leaked = refused.get(p)!.filter((k) => count.has(k))
    const truncated = lView[p]!.leo - (followerLeoBefore[p] ?? 0)
    t.diagnostic(`p${p}: ${keys.length} records, ${acked.get(p)!.length} acknowledged; L had ${truncated} records past the old common end before it rejoined; ${leaked.length} refused records present`)
    assert.deepEqual(leaked, [], `p${p}: records refused by L are in the log`)
  }
}
