#!/usr/bin/env node
// Runs every bench/*.bench.ts (or those whose name contains an argument) one after another.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const filters = process.argv.slice(2)
const files = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort()
let failed = false
for (const file of files) {
  const result = spawnSync(process.execPath, ['--conditions=samsa:source', '--import', 'tsx', join('bench', file)], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) failed = true
  console.log()
}
process.exit(failed ? 1 : 0)
