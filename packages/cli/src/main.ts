#!/usr/bin/env node
import { processIo } from './io.ts'
import { run } from './run.ts'

// `samsa consume ... | head`: a closed pipe ends the command quietly, as for other Unix tools.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

const code = await run(process.argv.slice(2), processIo())
process.exit(code)
