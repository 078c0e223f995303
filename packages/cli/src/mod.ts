/** @samsa/cli: the samsa command, runnable in process for tests. */
export { run, USAGE } from './run.ts'
export { type CommandIo, processIo } from './io.ts'
