/**
 * `samsa start`: runs a broker in the foreground until SIGINT or SIGTERM.
 *
 * Configuration uses Kafka's broker config names, from (lowest to highest priority) the
 * defaults, a server.properties file (`--config <file>` or the first positional argument),
 * SAMSA_* environment variables (SAMSA_LOG_DIRS=/data sets log.dirs) and command-line flags
 * (`--log.dirs /data`, `--override num.partitions=3`). With nothing set it runs node 1 on
 * 127.0.0.1:9092 with data in ./samsa-data and no outside services. In a cluster each broker
 * gets `--node-id N --metadata etcd://host:2379` (short for node.id and metadata.store); SIGTERM
 * then moves its leaderships to other brokers before it stops (controlled shutdown).
 */
import { Broker, ConfigError, createLogger, embeddedBrokerOptions, formatConfigHelp, fromArgs, isLogLevel, resolveBrokerConfig } from '@samsa/broker'
import type { CommandIo } from '../io.ts'

export const START_USAGE = `Usage: samsa start [server.properties] [--config <file>] [--<config.name> <value>]... [--override name=value]...
       samsa start --help

Starts a Samsa broker in the foreground; stop it with Ctrl-C (SIGINT) or SIGTERM for a clean
shutdown (in-flight requests finish, logs are flushed, the next start skips recovery).

Configuration uses Kafka's broker config names. Later sources win:
  1. defaults (node 1, PLAINTEXT://127.0.0.1:9092, data in ./samsa-data)
  2. a server.properties file (positional argument or --config)
  3. environment variables SAMSA_<NAME> (dots become underscores: SAMSA_LOG_DIRS=/data)
  4. command-line flags (--log.dirs /data, --num.partitions=3, --override key=value)

Cluster options (short forms of broker configs):
  --node-id <N>              node.id: this broker's id, unique in the cluster (default 1)
  --metadata <store>         metadata.store: 'file' (single node, the default) or
                             etcd://host:port[,host:port...][/namespace] (a cluster)
  --rack <rack>              broker.rack: for rack-aware replica placement

Other options:
  --log-level <error|warn|info|debug>   log verbosity (default info, or $SAMSA_LOG_LEVEL)

Examples:
  samsa start
  samsa start --listeners PLAINTEXT://0.0.0.0:9092 --advertised.listeners PLAINTEXT://myhost:9092
  samsa start config/server.properties --log.dirs /var/lib/samsa
  SAMSA_NUM_PARTITIONS=6 samsa start
  samsa start --node-id 2 --metadata etcd://127.0.0.1:2379 --listeners PLAINTEXT://127.0.0.1:9093 --log.dirs ./data-2
`

/** The short cluster flags and the broker configs they set. */
const SHORT_FLAGS: Readonly<Record<string, string>> = {
  '--node-id': 'node.id',
  '--metadata': 'metadata.store',
  '--rack': 'broker.rack'
}

/** Rewrites `--node-id 2` / `--node-id=2` (and the other short flags) as `--node.id=2`. */
function expandShortFlags (argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg : arg.slice(0, eq)
    const config = SHORT_FLAGS[name]
    if (config === undefined) {
      out.push(arg)
      continue
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1)
    out.push(`--${config}=${value ?? ''}`)
  }
  return out
}

export async function startCommand (argv: string[], io: CommandIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(START_USAGE + '\nBroker configurations:\n\n' + formatConfigHelp())
    return 0
  }
  let level = io.env.SAMSA_LOG_LEVEL ?? 'info'
  const args: string[] = []
  const expanded = expandShortFlags(argv)
  for (let i = 0; i < expanded.length; i++) {
    const arg = expanded[i]!
    if (arg === '--log-level') level = expanded[++i] ?? ''
    else if (arg.startsWith('--log-level=')) level = arg.slice('--log-level='.length)
    else args.push(arg)
  }
  if (!isLogLevel(level)) {
    io.stderr(`samsa start: invalid --log-level '${level}' (expected error, warn, info or debug)\n`)
    return 2
  }
  // A bare positional argument is a properties file, as with kafka-server-start.
  let parsed: ReturnType<typeof fromArgs>
  try {
    parsed = fromArgs(args)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.stderr(`samsa start: ${error.message}\n`)
    return 2
  }
  if (parsed.flags.length > 0 || parsed.positionals.length > 1) {
    const unknown = [...parsed.flags, ...parsed.positionals.slice(1)]
    io.stderr(`samsa start: unknown argument${unknown.length > 1 ? 's' : ''} ${unknown.join(' ')} (see samsa start --help)\n`)
    return 2
  }
  const file = parsed.configFile ?? parsed.positionals[0]
  const flags = args.filter((a) => a !== parsed.positionals[0])
  const logger = createLogger(level, (line) => io.stderr(line + '\n'))
  let broker: Broker
  try {
    const env = Object.fromEntries(Object.entries(io.env).filter(([k]) => k !== 'SAMSA_LOG_LEVEL' && k !== 'SAMSA_BOOTSTRAP'))
    const config = resolveBrokerConfig({ ...(file === undefined ? {} : { file }), env, args: flags })
    for (const warning of config.warnings) logger.warn(warning)
    broker = await Broker.start(embeddedBrokerOptions({ config, logger }))
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`samsa start: ${error.message}\n`)
      return 2
    }
    logger.error('Failed to start', { error })
    return 1
  }
  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) {
        logger.warn('Second signal: exiting without a clean shutdown', { signal })
        resolve(1)
        return
      }
      stopping = true
      logger.info('Received signal, shutting down', { signal })
      broker.stop().then(() => resolve(0), (error: unknown) => {
        logger.error('Shutdown failed', { error })
        resolve(1)
      })
    }
    io.onSignal('SIGINT', () => stop('SIGINT'))
    io.onSignal('SIGTERM', () => stop('SIGTERM'))
  })
}
