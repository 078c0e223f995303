// Replication over the etcd metadata store (testkit's startCluster with a real etcd, brokers in
// this process): the partition's leader is killed and started again at once, several rounds,
// while acks=all writes go on; each time every replica rejoins the ISR, and the replicas end
// byte-identical. (A broker restarted before its lease expires may briefly lead an epoch it
// never writes in; partition.test.ts covers that case exactly, sigkill.test.ts with processes.)
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectRaw, etcdAvailable, startCluster } from '@samsa/testkit'
import { batchOf, createTopic, produce } from '../helpers.ts'

test('etcd: leaders killed and restarted at once, several rounds: replicas rejoin the ISR and stay identical', {
  timeout: 120_000, skip: etcdAvailable() ? false : 'etcd is not installed (Debian package etcd-server)'
}, async (t) => {
  const cluster = await startCluster({ brokers: 3, metadata: 'etcd', config: { 'replica.fetch.wait.max.ms': 100, 'replica.fetch.backoff.ms': 50 } })
  t.after(() => cluster.stop())
  const admin = await connectRaw(cluster.broker(1).bootstrap)
  t.after(() => admin.close())
  await createTopic(admin, 'etcd-repl', { replicationFactor: 3, configs: { 'min.insync.replicas': '2' } })
  const view = (id: number) => cluster.broker(id).broker.topics.anyPartition('etcd-repl', 0)!
  const leader = async (): Promise<number> => {
    let found = -1
    await cluster.waitFor(() => {
      const running = cluster.brokers.filter((b) => b.running)
      found = view(running[0]!.nodeId).leaderId
      return found > 0 && cluster.broker(found).running && view(found).isLeader
    }, 'a live leader', 30000)
    return found
  }
  let next = 0
  const write = async (): Promise<void> => {
    for (;;) {
      const id = await leader()
      const client = await connectRaw(cluster.broker(id).bootstrap)
      try {
        const r = await produce(client, 'etcd-repl', batchOf(10, { from: next }), { acks: -1 })
        if (r.errorCode === 0) {
          next += 10
          return
        }
      } catch {
        // The broker died under the request: look the leader up again.
      } finally {
        client.close()
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 5; i++) await write()
    const victim = await leader()
    await cluster.broker(victim).kill()
    // Back before its lease expires: its first metadata still names it leader.
    await cluster.broker(victim).start()
    for (let i = 0; i < 5; i++) await write()
    await cluster.waitFor(async () => view(await leader()).isr.length === 3, `round ${round}: every replica back in the ISR`, 30000)
  }
  const l = await leader()
  await cluster.waitFor(() => cluster.brokers.every((b) => view(b.nodeId).localLog?.logEndOffset === next), 'every replica at the log end', 30000)
  const bytes = (id: number): Buffer => view(id).log.read(0, { maxBytes: 64 * 1024 * 1024, maxOffset: next }).records
  for (const b of cluster.brokers) assert.ok(bytes(b.nodeId).equals(bytes(l)), `replica ${b.nodeId} differs from the leader ${l}`)
})
