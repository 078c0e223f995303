#!/usr/bin/env node
// Type-checks what `tsc -b` does not build: each package's tests and scripts, bench/ and compat/.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const projects = []
for (const pkg of readdirSync(join(root, 'packages'))) {
  for (const dir of ['test', 'scripts']) {
    const config = join(root, 'packages', pkg, dir, 'tsconfig.json')
    if (existsSync(config)) projects.push(config)
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
