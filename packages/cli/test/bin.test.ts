/** The built binary (`node packages/cli/dist/main.js`, after `npx tsc -b`) runs as a separate process. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { type TestBroker, startBroker } from '@samsa/testkit'
import { run } from '../src/mod.ts'
import { fakeIo, uniqueName } from './helpers.ts'

const MAIN = new URL('../dist/main.js', import.meta.url).pathname

let broker: TestBroker

before(async () => {
  broker = await startBroker()
})

after(async () => {
  await broker.stop()
})

/** Spawns without blocking the event loop: the in-process broker must keep serving. */
async function node (args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
  })
}

test('samsa topic list --format json from the built binary', { skip: existsSync(MAIN) ? false : 'packages/cli/dist/main.js is not built (run npx tsc -b)' }, async () => {
  const name = uniqueName('bin')
  assert.equal(await run(['topic', 'create', name, '--bootstrap', broker.bootstrap], fakeIo()), 0)
  const listed = await node(['topic', 'list', '--format', 'json'], { SAMSA_BOOTSTRAP: broker.bootstrap })
  assert.equal(listed.code, 0, listed.stderr)
  assert.equal(listed.stderr, '')
  const topics = JSON.parse(listed.stdout) as Array<{ name: string, partitions: number }>
  assert.ok(topics.some((t) => t.name === name && t.partitions === 1))
  const usage = await node(['topic', 'list', '--bogus'])
  assert.equal(usage.code, 2)
  assert.match(usage.stderr, /^samsa topic list: unknown option '--bogus'/)
})

test('samsa produce creates a missing topic when the broker auto-creates topics, as console producers do', async () => {
  const name = uniqueName('auto')
  const io = fakeIo({ stdin: 'hello\n' })
  assert.equal(await run(['produce', name, '--bootstrap', broker.bootstrap], io), 0, io.err.join(''))
  const out = fakeIo()
  assert.equal(await run(['consume', name, '--bootstrap', broker.bootstrap], out), 0)
  assert.equal(out.out.join(''), 'hello\n')
})
