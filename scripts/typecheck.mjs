#!/usr/bin/env node
// Type-checks what `tsc -b` does not build: each package's tests and scripts, bench/ and compat/.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
/** Whether a directory (recursively) holds any .ts file: tsc fails on a project with no inputs. */
function hasTs (dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue
    const path = join(dir, entry)
    if (statSync(path).isDirectory() ? hasTs(path) : entry.endsWith('.ts')) return true
  }
  return false
}

const projects = []
for (const pkg of readdirSync(join(root, 'packages'))) {
  for (const dir of ['test', 'scripts']) {
    const config = join(root, 'packages', pkg, dir, 'tsconfig.json')
    if (existsSync(config) && hasTs(join(root, 'packages', pkg, dir))) projects.push(config)
  }
}
for (const dir of ['bench', 'compat']) {
  const config = join(root, dir, 'tsconfig.json')
  if (existsSync(config)) projects.push(config)
}
let failed = false
for (const project of projects) {
  const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], { stdio: 'inherit' })
  if (result.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
