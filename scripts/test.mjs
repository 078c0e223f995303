#!/usr/bin/env node
// Runs the node:test suites of every package (and compat/ when asked) from source through tsx.
// Node 20 does not expand globs in `--test`, so the files are listed here.
//
//   node scripts/test.mjs [path-filter ...] [--coverage]
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const args = process.argv.slice(2)
const coverage = args.includes('--coverage')
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
for (const pkg of readdirSync(join(root, 'packages'))) {
  const testDir = join(root, 'packages', pkg, 'test')
  try { walk(testDir, files) } catch { /* package without tests */ }
}
const selected = files
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort()
if (selected.length === 0) {
  console.error('No test files matched')
  process.exit(1)
}

const nodeArgs = ['--conditions=samsa:source', '--import', 'tsx', '--test', '--test-reporter=spec', ...selected]
const command = coverage ? join(root, 'node_modules/.bin/c8') : process.execPath
const commandArgs = coverage
  ? ['--config', join(root, '.c8rc.json'), process.execPath, ...nodeArgs]
  : nodeArgs
const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } })
process.exit(result.status ?? 1)
