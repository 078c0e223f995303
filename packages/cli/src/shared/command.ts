/**
 * A tiny declarative command framework over node:util parseArgs: a command declares its
 * options (with help text), how many positional arguments it takes and its examples; this
 * module parses argv strictly, answers --help, applies the global options (--bootstrap,
 * --format) and turns every failure into a message and an exit code.
 */
import { parseArgs } from 'node:util'
import type { CommandIo } from '../io.ts'
import { EXIT_OK, UsageError, reportError } from './errors.ts'

export interface OptionDef {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** The option may be repeated; its value is then a list. */
  readonly multiple?: boolean
  /** The value's placeholder in help, e.g. '<n>'. */
  readonly value?: string
  readonly description: string
}

export type OptionDefs = Readonly<Record<string, OptionDef>>

type ValueOf<D extends OptionDef> = D['type'] extends 'boolean' ? boolean : string

/** Parsed option values: a list for `multiple` options, undefined when absent. */
export type OptionValues<O extends OptionDefs> = {
  [K in keyof O]?: O[K]['multiple'] extends true ? Array<ValueOf<O[K]>> : ValueOf<O[K]>
}

export type OutputFormat = 'table' | 'json'

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092'

export interface CommandContext<O extends OptionDefs> {
  readonly io: CommandIo
  readonly options: OptionValues<O>
  readonly args: readonly string[]
  /** From --bootstrap, else $SAMSA_BOOTSTRAP, else 127.0.0.1:9092. */
  readonly bootstrap: string
  /** From --format (commands with `formats`), default 'table'. */
  readonly format: OutputFormat
  /** 'samsa topic create'. */
  readonly command: string
}

export interface CommandSpec<O extends OptionDefs> {
  /** The words after `samsa`: 'topic create', 'produce'. */
  readonly name: string
  /** One line for the command lists. */
  readonly summary: string
  /** What follows the name in the usage line: '<topic>... [options]'. */
  readonly synopsis: string
  /** Paragraphs of help. */
  readonly description: string
  readonly options: O
  /** Positional arguments: how many, and what to call them in messages. */
  readonly args: { readonly min: number, readonly max: number, readonly name: string }
  /** Whether --format table|json applies. Default true. */
  readonly formats?: boolean
  readonly examples: readonly string[]
  run (context: CommandContext<O>): Promise<number | undefined>
}

/** A command with its types erased, for the router. */
export interface Command {
  readonly name: string
  readonly summary: string
  readonly examples: readonly string[]
  help (): string
  execute (argv: readonly string[], io: CommandIo): Promise<number>
}

const GLOBAL_OPTIONS = {
  bootstrap: { type: 'string', short: 'b', value: '<host:port,...>', description: 'Brokers to connect to (default: $SAMSA_BOOTSTRAP or 127.0.0.1:9092)' },
  format: { type: 'string', value: '<table|json>', description: 'Output format (default: table)' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' }
} as const satisfies OptionDefs

function optionLines (options: OptionDefs): string[] {
  const rows = Object.entries(options).map(([name, def]) => {
    const flag = `${def.short === undefined ? '    ' : `-${def.short}, `}--${name}${def.value === undefined ? '' : ` ${def.value}`}`
    return [flag, def.description + (def.multiple === true ? ' (repeatable)' : '')] as const
  })
  const width = Math.max(0, ...rows.map(([flag]) => flag.length))
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`)
}

/** Joins `--opt -5` into `--opt=-5` for string options, so negative numbers need no '='. */
function joinNegativeValues (argv: readonly string[], options: OptionDefs): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const next = argv[i + 1]
    const long = arg.startsWith('--') ? arg.slice(2) : null
    const def = long === null
      ? Object.values(options).find((d) => arg === `-${d.short ?? '\u0000'}`)
      : options[long]
    if (def?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`)
      i++
    } else {
      out.push(arg)
    }
  }
  return out
}

function parseError (error: unknown): UsageError {
  const e = error as NodeJS.ErrnoException
  const message = e.message ?? String(error)
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const name = /Unknown option '([^']+)'/.exec(message)?.[1] ?? message
      return new UsageError(`unknown option '${name}'`)
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = /Option '(-\w, )?(--[\w-]+)/.exec(message)?.[2] ?? ''
      if (/does not take an argument/.test(message)) return new UsageError(`option '${name}' does not take a value`)
      if (/ambiguous/.test(message)) return new UsageError(`option '${name}' needs a value (write ${name}=<value> for a value starting with '-')`)
      return new UsageError(`option '${name}' needs a value`)
    }
    default:
      return new UsageError(message)
  }
}

/** Adds the global options to a command and returns it ready for the router. */
export function defineCommand<const O extends OptionDefs> (spec: CommandSpec<O>): Command {
  const command = `samsa ${spec.name}`
  const formats = spec.formats ?? true
  const globals: OptionDefs = formats ? GLOBAL_OPTIONS : { bootstrap: GLOBAL_OPTIONS.bootstrap, help: GLOBAL_OPTIONS.help }
  const all: OptionDefs = { ...spec.options, ...globals }
  const usage = `Usage: ${command} ${spec.synopsis}\n`
  const help = (): string => [
    usage,
    spec.description.trim(),
    '',
    ...(Object.keys(spec.options).length > 0 ? ['Options:', ...optionLines(spec.options), ''] : []),
    'Global options:',
    ...optionLines(globals),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    ''
  ].join('\n')

  const execute = async (argv: readonly string[], io: CommandIo): Promise<number> => {
    let bootstrap = io.env.SAMSA_BOOTSTRAP ?? DEFAULT_BOOTSTRAP
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout(help())
      return EXIT_OK
    }
    try {
      let parsed: { values: Record<string, unknown>, positionals: string[] }
      try {
        parsed = parseArgs({
          args: joinNegativeValues(argv, all),
          options: Object.fromEntries(Object.entries(all).map(([name, d]) => [name, {
            type: d.type, ...(d.short === undefined ? {} : { short: d.short }), ...(d.multiple === true ? { multiple: true } : {})
          }])),
          strict: true,
          allowPositionals: true
        })
      } catch (error) {
        throw parseError(error)
      }
      const values = parsed.values
      if (typeof values.bootstrap === 'string') bootstrap = values.bootstrap
      bootstrap = normalizeBootstrap(bootstrap)
      const format = typeof values.format === 'string' ? values.format : 'table'
      if (format !== 'table' && format !== 'json') throw new UsageError(`invalid --format '${format}' (expected table or json)`)
      const args = parsed.positionals
      if (args.length < spec.args.min) throw new UsageError(`missing ${spec.args.name}`)
      if (args.length > spec.args.max) throw new UsageError(`unexpected argument${args.length - spec.args.max > 1 ? 's' : ''} ${args.slice(spec.args.max).map((a) => `'${a}'`).join(' ')}`)
      delete values.bootstrap
      delete values.format
      delete values.help
      const code = await spec.run({ io, options: values as OptionValues<O>, args, bootstrap, format, command })
      return code ?? EXIT_OK
    } catch (error) {
      return reportError(error, io, { command, bootstrap, usage })
    }
  }
  return { name: spec.name, summary: spec.summary, examples: spec.examples, help, execute }
}

/** Trims a bootstrap list and gives hosts without a port Kafka's 9092. */
export function normalizeBootstrap (text: string): string {
  const servers = text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (servers.length === 0) throw new UsageError('--bootstrap needs at least one host:port')
  return servers.map((s) => /:\d+$/.test(s) || /^\[.*\]:\d+$/.test(s) ? s : `${s}:9092`).join(',')
}

/** An integer option or argument, checked against a range. */
export function parseInteger (text: string | undefined, what: string, range: { min?: number, max?: number } = {}): number {
  const value = text === undefined || !/^[-+]?\d+$/.test(text.trim()) ? NaN : Number(text)
  const min = range.min ?? -Number.MAX_SAFE_INTEGER
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const bounds = range.min !== undefined && range.max !== undefined
      ? ` between ${min} and ${max}`
      : range.min !== undefined ? ` of at least ${min}` : range.max !== undefined ? ` of at most ${max}` : ''
    throw new UsageError(`invalid ${what} '${text ?? ''}' (expected an integer${bounds})`)
  }
  return value
}

/** A `name=value` pair (configs, headers); the value may contain '='. */
export function parsePair (text: string, what: string): [string, string] {
  const at = text.indexOf('=')
  if (at <= 0) throw new UsageError(`invalid ${what} '${text}' (expected name=value)`)
  return [text.slice(0, at), text.slice(at + 1)]
}

/** Exactly one of the named boolean or string options may be given; returns which. */
export function oneOf<K extends string> (values: Partial<Record<K, unknown>>, names: readonly K[], required: boolean): K | undefined {
  const given = names.filter((n) => values[n] !== undefined && values[n] !== false)
  if (given.length > 1) throw new UsageError(`options ${given.map((n) => `--${n}`).join(' and ')} cannot be combined`)
  if (given.length === 0 && required) throw new UsageError(`one of ${names.map((n) => `--${n}`).join(', ')} is required`)
  return given[0]
}
