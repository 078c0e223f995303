import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApiVersionsApi } from '@samsa/protocol'
import { connectRaw } from '@samsa/testkit'
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
