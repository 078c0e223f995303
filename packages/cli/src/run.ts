/**
 * The `samsa` command line: `samsa <command> [arguments]`, noun-verb like rpk. Returns the
 * exit code: 0 success, 1 failure, 2 bad usage.
 */
import type { CommandIo } from './io.ts'
import { startCommand } from './commands/start.ts'

export const USAGE = `Usage: samsa <command> [options]

Commands:
  start     Run a broker (samsa start --help for its configuration)

Run 'samsa <command> --help' for a command's options and examples.
`

const COMMANDS: Record<string, (argv: string[], io: CommandIo) => Promise<number>> = {
  start: startCommand
}

export async function run (argv: string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout(USAGE)
    return command === undefined ? 2 : 0
  }
  const handler = COMMANDS[command]
  if (handler === undefined) {
    io.stderr(`samsa: unknown command '${command}'\n\n${USAGE}`)
    return 2
  }
  return await handler(rest, io)
}
