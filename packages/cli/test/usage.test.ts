/**
 * Help for every command and noun, usage errors (exit 2) and an unreachable cluster (exit 1,
 * quickly): nothing here needs a broker.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { closedPort, samsa } from './helpers.ts'

const NOUNS: Record<string, string[]> = {
  topic: ['create', 'list', 'describe', 'alter-config', 'add-partitions', 'delete'],
  group: ['list', 'describe', 'reset-offsets', 'delete'],
  txn: ['list', 'describe'],
  producers: ['describe'],
  cluster: ['info'],
  perf: ['produce', 'consume']
}

test('samsa alone prints the usage and exits 2; --help and help exit 0', async () => {
  const bare = await samsa([])
  assert.equal(bare.code, 2)
  assert.match(bare.stdout, /Usage: samsa <command>/)
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await samsa(args)
    assert.equal(r.code, 0)
    for (const word of ['start', 'produce', 'consume', ...Object.keys(NOUNS), 'Exit codes']) assert.ok(r.stdout.includes(word), `usage mentions ${word}`)
  }
})

test('every command has help with a usage line, its options and examples', async () => {
  const commands = [['produce'], ['consume'], ...Object.entries(NOUNS).flatMap(([noun, verbs]) => verbs.map((v) => [noun, v]))]
  for (const command of commands) {
    const r = await samsa([...command, '--help'])
    assert.equal(r.code, 0, command.join(' '))
    assert.ok(r.stdout.startsWith(`Usage: samsa ${command.join(' ')} `), r.stdout)
    assert.match(r.stdout, /\nGlobal options:\n {2}-b, --bootstrap/)
    assert.match(r.stdout, new RegExp(`\\nExamples:\\n {2}(echo .* \\| |printf .* \\| )?samsa ${command.join(' ')}`))
    assert.equal(r.stderr, '')
  }
  // `samsa help <command>` is the same as --help.
  const viaHelp = await samsa(['help', 'topic', 'create'])
  assert.equal(viaHelp.code, 0)
  assert.equal(viaHelp.stdout, (await samsa(['topic', 'create', '-h'])).stdout)
})

test('every noun has help listing its verbs with examples; a missing or unknown verb exits 2', async () => {
  for (const [noun, verbs] of Object.entries(NOUNS)) {
    const help = await samsa([noun, '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, new RegExp(`^Usage: samsa ${noun} <verb>`))
    for (const verb of verbs) {
      assert.match(help.stdout, new RegExp(`\\n {2}${verb} +\\S`), `${noun} help lists ${verb}`)
      assert.match(help.stdout, new RegExp(`\\n {2}samsa ${noun} ${verb}`), `${noun} help has an example of ${verb}`)
    }
    const missing = await samsa([noun])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, new RegExp(`^samsa ${noun}: missing verb`))
  }
  const unknown = await samsa(['topic', 'frobnicate'])
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /samsa topic: unknown verb 'frobnicate'/)
  const unknownNoun = await samsa(['widgets', 'list'])
  assert.equal(unknownNoun.code, 2)
  assert.match(unknownNoun.stderr, /samsa: unknown command 'widgets'/)
})

test('bad arguments exit 2 with the command, the problem and the usage line', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['topic', 'create'], /^samsa topic create: missing topic name\nUsage: samsa topic create <topic>\.\.\. \[options\]\nRun 'samsa topic create --help'/],
    [['topic', 'create', 't', '--partitions', 'many'], /invalid --partitions 'many' \(expected an integer between 1 and/],
    [['topic', 'create', 't', '--bogus'], /^samsa topic create: unknown option '--bogus'/],
    [['topic', 'create', 't', '--partitions'], /option '--partitions' needs a value/],
    [['topic', 'create', 't', '-c', 'novalue'], /invalid --config 'novalue' \(expected name=value\)/],
    [['topic', 'list', 'extra'], /unexpected argument 'extra'/],
    [['topic', 'list', '--format', 'xml'], /invalid --format 'xml' \(expected table or json\)/],
    [['topic', 'list', '--internal=yes'], /option '--internal' does not take a value/],
    [['topic', 'alter-config', 't'], /nothing to change/],
    [['topic', 'add-partitions', 't'], /one of --num, --total is required/],
    [['topic', 'add-partitions', 't', '--num', '1', '--total', '3'], /options --num and --total cannot be combined/],
    [['group', 'reset-offsets', 'g', '--topic', 't'], /one of --to-earliest, --to-latest, --to-datetime, --to-offset, --shift-by is required/],
    [['group', 'reset-offsets', 'g', '--to-earliest'], /one of --topic, --all-topics is required/],
    [['group', 'reset-offsets', 'g', '--topic', 't', '--to-earliest', '--to-latest'], /cannot be combined/],
    [['group', 'reset-offsets', 'g', '--topic', 't', '--to-datetime', 'yesterday'], /invalid --to-datetime 'yesterday'/],
    [['group', 'reset-offsets', 'g', '--topic', 't', '--shift-by', 'x'], /invalid --shift-by 'x'/],
    [['produce', 't', '--acks', '2'], /invalid --acks '2' \(expected 0, 1 or all\)/],
    [['produce', 't', '--compression', 'brotli'], /invalid --compression 'brotli' \(expected none, gzip, snappy, lz4, zstd\)/],
    [['produce', 't', '--json', '--key-separator', ':'], /--key-separator cannot be combined with --json/],
    [['produce', 't', '--header', 'nokv'], /invalid --header 'nokv'/],
    [['consume', 't', '--from', 'yesterday'], /invalid --from 'yesterday'/],
    [['consume', 't', '--output', 'xml'], /invalid --output 'xml'/],
    [['consume', 't', '--output', 'json', '--template', '{{value}}'], /--template applies to --output text only/],
    [['consume', 't', '--template', '{{nope}}'], /unknown field '\{\{nope\}\}' in --template/],
    [['consume', 't', '--isolation', 'serializable'], /invalid --isolation 'serializable'/],
    [['consume', 't', '--count', '0'], /invalid --count '0' \(expected an integer of at least 1\)/],
    [['perf', 'produce', '--records', '10'], /--topic is required/],
    [['perf', 'produce', '--topic', 't', '--throughput', '-5'], /invalid --throughput '-5'/],
    [['txn', 'describe'], /missing transactional id/],
    [['producers', 'describe', 't', '--partition', '-1'], /invalid --partition '-1'/],
    [['topic', 'list', '--bootstrap', 'bad host:x'], /Invalid broker address/]
  ]
  for (const [argv, expected] of cases) {
    const r = await samsa(argv, { bootstrap: null, env: { SAMSA_BOOTSTRAP: '127.0.0.1:1' } })
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, expected, argv.join(' '))
    assert.equal(r.stdout, '')
  }
})

test('an unreachable cluster fails fast with exit 1 and a clear message', async () => {
  const port = await closedPort()
  const bootstrap = `127.0.0.1:${port}`
  const commands = [
    ['topic', 'list'], ['topic', 'describe', 't'], ['cluster', 'info'], ['group', 'list'], ['txn', 'list'],
    ['consume', 't'], ['consume', 't', '--group', 'g'], ['produce', 't'], ['perf', 'produce', '--topic', 't', '--records', '1']
  ]
  for (const argv of commands) {
    const started = Date.now()
    const r = await samsa(argv, { bootstrap, stdin: 'x\n' })
    assert.equal(r.code, 1, argv.join(' '))
    assert.equal(r.stderr, `samsa: cannot reach the cluster at ${bootstrap} (connection refused)\n`, argv.join(' '))
    assert.ok(Date.now() - started < 5000, `${argv.join(' ')} took ${Date.now() - started} ms`)
  }
  // From the environment, and with the global option before the command.
  const fromEnv = await samsa(['topic', 'list'], { bootstrap: null, env: { SAMSA_BOOTSTRAP: bootstrap } })
  assert.equal(fromEnv.stderr, `samsa: cannot reach the cluster at ${bootstrap} (connection refused)\n`)
  const hoisted = await samsa(['--bootstrap', bootstrap, 'topic', 'list'], { bootstrap: null })
  assert.equal(hoisted.code, 1)
  assert.equal(hoisted.stderr, `samsa: cannot reach the cluster at ${bootstrap} (connection refused)\n`)
  // A host without a port gets Kafka's 9092.
  const noPort = await samsa(['topic', 'list', '-b', 'nonexistent-host.invalid'], { bootstrap: null })
  assert.equal(noPort.code, 1)
  assert.equal(noPort.stderr, 'samsa: cannot reach the cluster at nonexistent-host.invalid:9092 (unknown host)\n')
})
