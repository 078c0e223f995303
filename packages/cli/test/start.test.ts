import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApiVersionsApi, MetadataApi } from '@samsa/protocol'
import { connectRaw, etcdAvailable, startEtcd } from '@samsa/testkit'
import { type CommandIo, run } from '../src/mod.ts'

function fakeIo (env: Record<string, string> = {}): CommandIo & { out: string[], err: string[], signal: (s: 'SIGINT' | 'SIGTERM') => void } {
  const handlers = new Map<string, () => void>()
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    stdout: (t) => { out.push(t) },
    stderr: (t) => { err.push(t) },
    env,
    onSignal: (s, h) => { handlers.set(s, h) },
    signal: (s) => handlers.get(s)?.()
  }
}

test('samsa with no command prints usage and exits 2', async () => {
  const io = fakeIo()
  assert.equal(await run([], io), 2)
  assert.match(io.out.join(''), /Usage: samsa <command>/)
})

test('an unknown command exits 2 with a message', async () => {
  const io = fakeIo()
  assert.equal(await run(['frobnicate'], io), 2)
  assert.match(io.err.join(''), /unknown command 'frobnicate'/)
})

test('samsa start --help documents the broker configs', async () => {
  const io = fakeIo()
  assert.equal(await run(['start', '--help'], io), 0)
  const text = io.out.join('')
  for (const name of ['listeners', 'log.dirs', 'num.partitions', 'auto.create.topics.enable', 'socket.request.max.bytes']) {
    assert.ok(text.includes(name), `help mentions ${name}`)
  }
})

test('bad arguments and bad values exit 2 with a readable message', async () => {
  let io = fakeIo()
  assert.equal(await run(['start', '--bogus'], io), 2)
  assert.match(io.err.join(''), /unknown argument --bogus/)
  io = fakeIo()
  assert.equal(await run(['start', '--num.partitions', 'many'], io), 2)
  assert.match(io.err.join(''), /Invalid value many for configuration num.partitions/)
  io = fakeIo()
  assert.equal(await run(['start', '--log-level', 'loud'], io), 2)
})

test('samsa start serves until SIGTERM, then shuts down cleanly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const io = fakeIo({ SAMSA_NUM_PARTITIONS: '3' })
  const exit = run(['start', '--log.dirs', dir, '--listeners', 'PLAINTEXT://127.0.0.1:0', '--log-level', 'info'], io)
  let port: number | undefined
  for (let i = 0; i < 500 && port === undefined; i++) {
    const m = /listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(io.err.join(''))
    if (m !== null) port = Number(m[1])
    else await new Promise((r) => setTimeout(r, 10))
  }
  assert.ok(port !== undefined, io.err.join(''))
  const client = await connectRaw(`127.0.0.1:${port}`)
  const versions = await client.request(ApiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })
  assert.equal(versions.errorCode, 0)
  client.close()
  io.signal('SIGTERM')
  assert.equal(await exit, 0)
  assert.match(io.err.join(''), /Shut down cleanly/)
  assert.ok(existsSync(join(dir, '.kafka_cleanshutdown')))
})

test('samsa start --help shows the cluster options', async () => {
  const io = fakeIo()
  assert.equal(await run(['start', '--help'], io), 0)
  const text = io.out.join('')
  for (const option of ['--node-id <N>', '--metadata <store>', '--rack <rack>', 'metadata.store', 'broker.session.timeout.ms', 'controlled.shutdown.enable']) {
    assert.ok(text.includes(option), `help mentions ${option}`)
  }
  const bad = fakeIo()
  assert.equal(await run(['start', '--metadata', 'zookeeper://x:2181'], bad), 2)
  assert.match(bad.err.join(''), /metadata\.store/)
})

test('two `samsa start --node-id N --metadata etcd://...` brokers form a cluster; SIGTERM stops each cleanly', { skip: etcdAvailable() ? false : 'etcd is not installed at /usr/bin/etcd (Debian package etcd-server)' }, async (t) => {
  const etcd = await startEtcd()
  t.after(() => etcd.stop())
  const started: Array<{ io: ReturnType<typeof fakeIo>, exit: Promise<number>, port: number }> = []
  for (const nodeId of [1, 2]) {
    const dir = mkdtempSync(join(tmpdir(), `samsa-cli-${nodeId}-`))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const io = fakeIo()
    const exit = run(['start', '--node-id', String(nodeId), `--metadata=${etcd.url}`, '--rack', `r${nodeId}`, '--log.dirs', dir, '--listeners', 'PLAINTEXT://127.0.0.1:0', '--log-level', 'info'], io)
    let port: number | undefined
    for (let i = 0; i < 1000 && port === undefined; i++) {
      const m = /listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/.exec(io.err.join(''))
      if (m !== null) port = Number(m[1])
      else await new Promise((r) => setTimeout(r, 10))
    }
    assert.ok(port !== undefined, io.err.join(''))
    assert.match(io.err.join(''), new RegExp(`metadata=etcd://127\\.0\\.0\\.1:${etcd.clientPort}`))
    started.push({ io, exit, port })
  }
  const client = await connectRaw(`127.0.0.1:${started[0]!.port}`)
  t.after(() => client.close())
  let brokers: Array<{ nodeId: number, port: number, rack: string | null }> = []
  for (let i = 0; i < 200 && brokers.length < 2; i++) {
    brokers = (await client.request(MetadataApi, 12, { ...MetadataApi.request.create(), topics: [] })).brokers
    if (brokers.length < 2) await new Promise((r) => setTimeout(r, 25))
  }
  assert.deepEqual(brokers.map((b) => [b.nodeId, b.port, b.rack]).sort(), [[1, started[0]!.port, 'r1'], [2, started[1]!.port, 'r2']])
  for (const s of started) s.io.signal('SIGTERM')
  for (const s of started) {
    assert.equal(await s.exit, 0)
    assert.match(s.io.err.join(''), /Shut down cleanly/)
  }
})
