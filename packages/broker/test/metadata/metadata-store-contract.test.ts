// The MetadataStore contract, run against every implementation: the file store (single node,
// the default), the memory store, the shared in-memory store (in-process clusters) and etcd (a
// real /usr/bin/etcd started for this file; skipped with a message when it is not installed).
// Local stores are checked for one broker; shared stores also across sessions: registrations
// that vanish when a session ends, one controller at a time, fencing, events for everyone.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { after, before, describe } from 'node:test'
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'
import { NodeFileSystem } from '@samsa/storage'
import { type EtcdServer, etcdAvailable, startEtcd } from '@samsa/testkit'
import { EtcdMetadataStore } from '../../src/metadata/etcd-metadata-store.ts'
import {
  type BrokerRegistration, type ControllerCandidate, FileMetadataStore, MemoryMetadataStore, type MetadataEvent, type MetadataStore,
  type TopicMetadata, initialPartitionState, newIncarnationId
} from '../../src/metadata/metadata-store.ts'
import { SharedMemoryMetadataCluster } from '../../src/metadata/shared-memory-metadata-store.ts'
import { silentLogger } from '../../src/logger.ts'

function registration (nodeId: number): Omit<BrokerRegistration, 'brokerEpoch'> {
  return {
    nodeId,
    rack: nodeId % 2 === 0 ? 'even' : 'odd',
    endpoints: [{ listenerName: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + nodeId, securityProtocol: 'PLAINTEXT' }],
    incarnationId: newIncarnationId(),
    controlledShutdown: false
  }
}

function topic (name: string, partitions = 2, replicas = [1]): TopicMetadata {
  return {
    name,
    topicId: `${name}-id`,
    configs: { 'retention.ms': '1000' },
    partitions: Array.from({ length: partitions }, (_, partition) => ({ partition, ...initialPartitionState(replicas) }))
  }
}

/** A listener that records every event, and waits for one. */
class Recorder {
  readonly events: MetadataEvent[] = []
  readonly #waiters: Array<() => void> = []
  readonly listener = (events: MetadataEvent[]): void => {
    this.events.push(...events)
    for (const w of this.#waiters.splice(0)) w()
  }

  async waitFor (predicate: (e: MetadataEvent) => boolean, what: string, timeoutMs = 10000): Promise<MetadataEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(predicate)
      if (found !== undefined) return found
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`No event: ${what}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100))
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }
}

class Candidate implements ControllerCandidate {
  epochs: number[] = []
  resignations = 0
  elected (epoch: number): void { this.epochs.push(epoch) }
  resigned (): void { this.resignations++ }
}

interface Backend {
  name: string
  shared: boolean
  /** A new session (a broker's store) on the same backing state. */
  session: () => MetadataStore
  /** Reopens a local store on the same backing (durability), when it has one. */
  reopen?: () => MetadataStore
  cleanup: () => Promise<void>
  skip?: string
}

const stores: MetadataStore[] = []
function track<T extends MetadataStore> (store: T): T {
  stores.push(store)
  return store
}

let etcd: EtcdServer | undefined
let namespace = 0
const ETCD_SKIP = etcdAvailable() ? undefined : 'etcd is not installed at /usr/bin/etcd (Debian package etcd-server): etcd cases skipped'

before(async () => {
  if (ETCD_SKIP === undefined) etcd = await startEtcd()
})
after(async () => {
  for (const s of stores) await (s.kill?.() ?? s.close()).catch(() => undefined)
  await etcd?.stop()
})

function backends (): Array<() => Backend> {
  return [
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'samsa-meta-'))
      const fs = new NodeFileSystem()
      return {
        name: 'file', shared: false,
        session: () => track(new FileMetadataStore(fs, dir)),
        reopen: () => track(new FileMetadataStore(fs, dir)),
        cleanup: async () => { rmSync(dir, { recursive: true, force: true }); await Promise.resolve() }
      }
    },
    () => ({ name: 'memory', shared: false, session: () => track(new MemoryMetadataStore()), cleanup: async () => { await Promise.resolve() } }),
    () => {
      const cluster = new SharedMemoryMetadataCluster()
      return { name: 'shared-memory', shared: true, session: () => track(cluster.store()), cleanup: async () => { await Promise.resolve() } }
    },
    () => {
      const ns = `contract-${process.pid}-${++namespace}`
      return {
        name: 'etcd',
        shared: true,
        ...(ETCD_SKIP === undefined ? {} : { skip: ETCD_SKIP }),
        session: () => track(new EtcdMetadataStore({ url: `${etcd!.url}/${ns}`, sessionTimeoutMs: 1000, requestTimeoutMs: 3000, logger: silentLogger })),
        cleanup: async () => { await Promise.resolve() }
      }
    }
  ]
}

function names (): string[] {
  return ['file', 'memory', 'shared-memory', 'etcd']
}

for (const [i, make] of backends().entries()) {
  const name = names()[i]!
  const shared = name === 'shared-memory' || name === 'etcd'
  const skip = name === 'etcd' ? ETCD_SKIP : undefined
  const opts = skip === undefined ? {} : { skip }

  describe(`MetadataStore contract: ${name}`, () => {
    test('topics: create (read your writes), duplicates, configs, partitions, delete', opts, async () => {
      const b = make()
      try {
        const store = b.session()
        const rec = new Recorder()
        const snapshot = await store.open(registration(1), rec.listener)
        assert.deepEqual(snapshot.topics, [])
        await store.createTopic(topic('orders'))
        // Read your writes: the event reached this broker's listener before createTopic resolved.
        const created = rec.events.find((e) => e.type === 'topic' && e.topic.name === 'orders')
        assert.ok(created !== undefined && created.type === 'topic')
        assert.equal(created.topic.partitions.length, 2)
        assert.deepEqual(created.topic.partitions[1], { partition: 1, ...initialPartitionState([1]) })
        await assert.rejects(store.createTopic(topic('orders')), (e: unknown) => e instanceof KafkaProtocolError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS)

        await store.setTopicConfigs('orders', { 'cleanup.policy': 'compact' })
        const reconfigured = rec.events.filter((e) => e.type === 'topic' && e.topic.name === 'orders').at(-1)
        assert.ok(reconfigured?.type === 'topic')
        assert.deepEqual(reconfigured.topic.configs, { 'cleanup.policy': 'compact' })

        await store.addPartitions('orders', [{ partition: 2, ...initialPartitionState([1]) }])
        const grown = rec.events.filter((e) => e.type === 'topic' && e.topic.name === 'orders').at(-1)
        assert.ok(grown?.type === 'topic')
        assert.equal(grown.topic.partitions.length, 3)
        await assert.rejects(store.addPartitions('orders', [{ partition: 7, ...initialPartitionState([1]) }]),
          (e: unknown) => e instanceof KafkaProtocolError && e.code === ErrorCode.INVALID_PARTITIONS)

        await store.deleteTopic('orders')
        assert.ok(rec.events.some((e) => e.type === 'topic-deleted' && e.name === 'orders'))
        await assert.rejects(store.deleteTopic('orders'), (e: unknown) => e instanceof KafkaProtocolError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        await store.close()
      } finally {
        await b.cleanup()
      }
    })

    test('alterPartition is a compare-and-swap on the partition epoch', opts, async () => {
      const b = make()
      try {
        const store = b.session()
        const rec = new Recorder()
        await store.open(registration(1), rec.listener)
        await store.createTopic(topic('cas', 1, [1, 2, 3]))
        const s0 = initialPartitionState([1, 2, 3])
        assert.equal(await store.alterPartition('cas', 0, 0, { ...s0, isr: [1, 2] }), true)
        const event = rec.events.filter((e) => e.type === 'partition').at(-1)
        assert.ok(event?.type === 'partition')
        assert.deepEqual(event.state.isr, [1, 2])
        assert.equal(event.state.partitionEpoch, 1, 'the store sets expected + 1')
        // A writer that read epoch 0 loses.
        assert.equal(await store.alterPartition('cas', 0, 0, { ...s0, leader: 2, leaderEpoch: 1 }), false)
        assert.equal(await store.alterPartition('cas', 0, 1, { ...s0, leader: 2, leaderEpoch: 1, isr: [2] }), true)
        assert.equal(await store.alterPartition('gone', 0, 0, s0), false, 'an unknown topic is a failed swap')
        assert.equal(await store.alterPartition('cas', 5, 0, s0), false, 'an unknown partition is a failed swap')
        await store.close()
      } finally {
        await b.cleanup()
      }
    })

    test('producer id blocks never overlap; dynamic broker configs round-trip', opts, async () => {
      const b = make()
      try {
        const store = b.session()
        await store.open(registration(1), () => undefined)
        const blocks = [await store.allocateProducerIdBlock(1000), await store.allocateProducerIdBlock(1000), await store.allocateProducerIdBlock(10)]
        for (let j = 1; j < blocks.length; j++) assert.ok(blocks[j]!.firstProducerId >= blocks[j - 1]!.firstProducerId + BigInt(blocks[j - 1]!.size))
        await store.putDynamicBrokerConfigs({ broker: { 'log.retention.ms': '5' }, clusterDefault: { 'message.max.bytes': '2048' } })
        assert.deepEqual(await store.loadDynamicBrokerConfigs(), { broker: { 'log.retention.ms': '5' }, clusterDefault: { 'message.max.bytes': '2048' } })
        await store.close()
        if (b.reopen !== undefined) {
          // The file store: everything survives a restart, and ids continue after the last block.
          const again = b.reopen()
          const snapshot = await again.open(registration(1), () => undefined)
          assert.deepEqual(snapshot.brokerConfigs, { broker: { 'log.retention.ms': '5' }, clusterDefault: { 'message.max.bytes': '2048' } })
          const next = await again.allocateProducerIdBlock(1)
          assert.ok(next.firstProducerId >= blocks[2]!.firstProducerId + 10n)
          await again.close()
        }
      } finally {
        await b.cleanup()
      }
    })

    if (!shared) {
      test('a local store: this broker is always registered and the controller', opts, async () => {
        const b = make()
        try {
          const store = b.session()
          const snapshot = await store.open(registration(1), () => undefined)
          assert.deepEqual(snapshot.brokers.map((x) => x.nodeId), [1])
          assert.equal(snapshot.controllerId, 1)
          const candidate = new Candidate()
          store.campaign(candidate)
          assert.equal(candidate.epochs.length, 1)
          if (b.reopen !== undefined) {
            await store.createTopic(topic('durable', 1, [1]))
            assert.equal(await store.alterPartition('durable', 0, 0, { ...initialPartitionState([1]), leaderEpoch: 3 }), true)
            await store.close()
            const again = b.reopen()
            const s = await again.open(registration(1), () => undefined)
            assert.equal(s.topics[0]!.partitions[0]!.leaderEpoch, 3)
            assert.equal(s.topics[0]!.partitions[0]!.partitionEpoch, 1)
            await again.close()
          } else {
            await store.close()
          }
        } finally {
          await b.cleanup()
        }
      })
      return
    }

    test('sessions: every broker sees the others register, change and go; a killed session disappears too', opts, async () => {
      const b = make()
      try {
        const s1 = b.session()
        const s2 = b.session()
        const s3 = b.session()
        const r1 = new Recorder()
        const r2 = new Recorder()
        assert.equal(await s1.clusterId('first'), 'first')
        assert.equal(await s2.clusterId('second'), 'first', 'the first proposal wins')
        // A broker's own registration is in its snapshot or in the first events after it.
        const snap1 = await s1.open(registration(1), r1.listener)
        if (!snap1.brokers.some((x) => x.nodeId === 1)) await r1.waitFor((e) => e.type === 'broker' && e.broker.nodeId === 1, 'own registration')
        const snap2 = await s2.open(registration(2), r2.listener)
        assert.ok(snap2.brokers.some((x) => x.nodeId === 1), 'an earlier broker is in the snapshot')
        const seen = await r1.waitFor((e) => e.type === 'broker' && e.broker.nodeId === 2, 'broker 2 registered')
        assert.ok(seen.type === 'broker')
        assert.deepEqual(seen.broker.endpoints, registration(2).endpoints)
        assert.equal(seen.broker.rack, 'even')

        // A topic made by one broker reaches the other.
        await s2.createTopic(topic('shared', 1, [1, 2]))
        await r1.waitFor((e) => e.type === 'topic' && e.topic.name === 'shared', 'the topic on broker 1')

        await s2.requestControlledShutdown()
        await r1.waitFor((e) => e.type === 'broker' && e.broker.nodeId === 2 && e.broker.controlledShutdown, 'broker 2 shutting down')
        await s2.close()
        await r1.waitFor((e) => e.type === 'broker-gone' && e.nodeId === 2, 'broker 2 gone after close')

        await s3.open(registration(3), () => undefined)
        await r1.waitFor((e) => e.type === 'broker' && e.broker.nodeId === 3, 'broker 3 registered')
        const killedAt = Date.now()
        await s3.kill!()
        // etcd: when the 1 s lease expires (etcd checks leases every ~500 ms); in memory: at once.
        await r1.waitFor((e) => e.type === 'broker-gone' && e.nodeId === 3, 'broker 3 gone after kill', 10000)
        assert.ok(Date.now() - killedAt < 8000)
        await s1.close()
      } finally {
        await b.cleanup()
      }
    })

    test('one controller at a time; the next is elected when it goes; a deposed controller is fenced', opts, async () => {
      const b = make()
      try {
        const s1 = b.session()
        const s2 = b.session()
        const r2 = new Recorder()
        await s1.open(registration(1), () => undefined)
        await s2.open(registration(2), r2.listener)
        const c1 = new Candidate()
        const c2 = new Candidate()
        s1.campaign(c1)
        const waitUntil = async (cond: () => boolean, what: string): Promise<void> => {
          const deadline = Date.now() + 10000
          while (!cond()) {
            if (Date.now() > deadline) throw new Error(`Timed out: ${what}`)
            await new Promise((resolve) => setTimeout(resolve, 20))
          }
        }
        await waitUntil(() => c1.epochs.length === 1, 'broker 1 elected')
        s2.campaign(c2)
        await r2.waitFor((e) => e.type === 'controller' && e.nodeId === 1, 'broker 2 sees controller 1')
        await new Promise((resolve) => setTimeout(resolve, 200))
        assert.equal(c2.epochs.length, 0, 'only one controller')

        await s1.createTopic(topic('fenced', 1, [1, 2]))
        await r2.waitFor((e) => e.type === 'topic' && e.topic.name === 'fenced', 'topic on broker 2')
        const epoch1 = c1.epochs[0]!
        assert.equal(await s1.alterPartition('fenced', 0, 0, { ...initialPartitionState([1, 2]), isr: [1] }, { controllerEpoch: epoch1 }), true)

        await s1.resign()
        await waitUntil(() => c2.epochs.length === 1, 'broker 2 elected')
        const epoch2 = c2.epochs[0]!
        assert.ok(epoch2 > epoch1, 'the controller epoch grows')
        // The old controller's fenced write fails even with the right partition epoch.
        assert.equal(await s1.alterPartition('fenced', 0, 1, { ...initialPartitionState([1, 2]), isr: [2], leader: 2, leaderEpoch: 1 }, { controllerEpoch: epoch1 }), false)
        assert.equal(await s2.alterPartition('fenced', 0, 1, { ...initialPartitionState([1, 2]), isr: [2], leader: 2, leaderEpoch: 1 }, { controllerEpoch: epoch2 }), true)

        // The controller dying (session killed) hands the role to the next candidate.
        s1.campaign(c1)
        await s2.kill!()
        await waitUntil(() => c1.epochs.length === 2, 'broker 1 elected again after broker 2 died')
        assert.ok(c1.epochs[1]! > epoch2)
        await s1.close()
      } finally {
        await b.cleanup()
      }
    })
  })
}
