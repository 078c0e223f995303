#!/usr/bin/env node
import { processIo } from './io.ts'
import { run } from './run.ts'

const code = await run(process.argv.slice(2), processIo())
process.exit(code)
