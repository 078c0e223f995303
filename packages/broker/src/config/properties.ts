/**
 * The three places broker configs come from besides the defaults: a Java `.properties` file
 * (server.properties), SAMSA_* environment variables and the command line. Precedence, lowest first:
 * defaults < properties file < environment < command line < programmatic overrides.
 */
import { BROKER_CONFIG_DEF } from './broker-configs.ts'
import { ConfigError, setOwn } from './config-def.ts'

// ---------------------------------------------------------------------------------------------
// .properties (java.util.Properties.load)

const WHITESPACE = new Set([' ', '\t', '\f'])

/** Splits text into natural lines on \n, \r\n or \r, as Properties.LineReader does. */
function naturalLines (text: string): string[] {
  return text.split(/\r\n|\r|\n/)
}

function skipWhitespace (line: string, from: number): number {
  let i = from
  while (i < line.length && WHITESPACE.has(line[i]!)) i++
  return i
}

/** True when the line ends in an odd number of backslashes, i.e. continues on the next line. */
function continues (line: string): boolean {
  let count = 0
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) count++
  return count % 2 === 1
}

/** Properties.loadConvert: \t \n \r \f, \uXXXX, and "\x" for any other x is x itself. */
function unescape (text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c !== '\\') {
      out += c
      continue
    }
    const next = text[++i]
    if (next === undefined) break
    switch (next) {
      case 't': out += '\t'; break
      case 'n': out += '\n'; break
      case 'r': out += '\r'; break
      case 'f': out += '\f'; break
      case 'u': {
        const hex = text.slice(i + 1, i + 5)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new ConfigError('Malformed \\uxxxx encoding.')
        out += String.fromCharCode(parseInt(hex, 16))
        i += 4
        break
      }
      default: out += next
    }
  }
  return out
}

/**
 * Parses the text of a Java `.properties` file the way java.util.Properties.load does: `key=value`,
 * `key: value` and `key value`; leading whitespace skipped; `#` and `!` comment lines; a trailing odd
 * backslash continues the line (the next line's leading whitespace is dropped); escapes \t \n \r \f
 * \\ \uXXXX and escaped separators (`\=`, `\:`, `\ `) in keys and values; trailing whitespace of a
 * value kept; duplicate keys: the last wins. Kafka reads server.properties as ISO-8859-1; Samsa reads
 * files as UTF-8 (the same for ASCII; use \uXXXX for anything else to stay portable).
 */
export function parseProperties (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = naturalLines(text.startsWith('\uFEFF') ? text.slice(1) : text)
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!
    let start = skipWhitespace(line, 0)
    if (start === line.length) continue
    // Only a natural line can be a comment; a continuation line starting with # is data.
    if (line[start] === '#' || line[start] === '!') continue
    let logical = line.slice(start)
    while (continues(logical)) {
      logical = logical.slice(0, -1)
      n++
      if (n >= lines.length) break
      line = lines[n]!
      start = skipWhitespace(line, 0)
      logical += line.slice(start)
    }
    // Properties.load0: the key ends at the first unescaped '=', ':' or whitespace; then whitespace
    // and at most one '=' or ':' (if the key did not end on one) are skipped.
    let keyEnd = 0
    let valueStart = logical.length
    let hasSeparator = false
    let backslash = false
    for (; keyEnd < logical.length; keyEnd++) {
      const c = logical[keyEnd]!
      if ((c === '=' || c === ':') && !backslash) {
        valueStart = keyEnd + 1
        hasSeparator = true
        break
      }
      if (WHITESPACE.has(c) && !backslash) {
        valueStart = keyEnd + 1
        break
      }
      backslash = c === '\\' ? !backslash : false
    }
    for (; valueStart < logical.length; valueStart++) {
      const c = logical[valueStart]!
      if (WHITESPACE.has(c)) continue
      if (!hasSeparator && (c === '=' || c === ':')) hasSeparator = true
      else break
    }
    setOwn(out, unescape(logical.slice(0, keyEnd)), unescape(logical.slice(valueStart)))
  }
  return out
}

/** Writes one `key=value` line that parseProperties reads back exactly. */
export function formatProperty (key: string, value: string): string {
  const escape = (text: string, isKey: boolean): string => {
    let out = ''
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!
      const code = c.charCodeAt(0)
      if (c === '\\') out += '\\\\'
      else if (c === '\t') out += '\\t'
      else if (c === '\n') out += '\\n'
      else if (c === '\r') out += '\\r'
      else if (c === '\f') out += '\\f'
      else if (c === '=' || c === ':' || c === '#' || c === '!') out += `\\${c}`
      else if (c === ' ' && (isKey || i === 0)) out += '\\ '
      else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`
      else out += c
    }
    return out
  }
  return `${escape(key, true)}=${escape(value, false)}`
}

// ---------------------------------------------------------------------------------------------
// Environment

export const ENV_PREFIX = 'SAMSA_'

/**
 * The config name an environment variable stands for: the prefix dropped, lower-cased, then runs of
 * underscores read left to right as `___` → `-`, `__` → `_`, `_` → `.` (the convention of the
 * Confluent Kafka images). So SAMSA_LOG_DIRS is log.dirs, and a real underscore is doubled:
 * SAMSA_LISTENER_NAME_SASL__PLAINTEXT_SASL_ENABLED_MECHANISMS is
 * listener.name.sasl_plaintext.sasl.enabled.mechanisms. A name with an underscore right next to a dot
 * or dash cannot be written this way; use the properties file or the command line for it.
 */
export function envToConfigName (variable: string, prefix: string = ENV_PREFIX): string | undefined {
  if (!variable.startsWith(prefix) || variable.length === prefix.length) return undefined
  return variable.slice(prefix.length).toLowerCase()
    .replace(/___|__|_/g, (run) => run.length === 3 ? '-' : run.length === 2 ? '_' : '.')
}

/** The environment variable that sets `configName` (the inverse of envToConfigName). */
export function configNameToEnv (configName: string, prefix: string = ENV_PREFIX): string {
  return prefix + configName.replace(/_/g, '__').replace(/-/g, '___').replace(/\./g, '_').toUpperCase()
}

/**
 * Every PREFIX_* variable as a config. Variables set to undefined are skipped; an empty string is
 * kept (it sets the config to ""). Variables that name no config end up in the resolved config's
 * unknown-key warnings, so keep unrelated SAMSA_* variables out of the broker's environment or pass
 * a filtered `env`.
 */
export function fromEnv (env: Readonly<Record<string, string | undefined>>, prefix: string = ENV_PREFIX): Record<string, string> {
  const out: Record<string, string> = {}
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable]
    const name = envToConfigName(variable, prefix)
    if (name !== undefined && value !== undefined) setOwn(out, name, value)
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Command line

export interface ParsedArgs {
  /** Configs given as `--name value`, `--name=value` or `--override name=value`, later ones winning. */
  readonly values: Record<string, string>
  /** `--config <file>` / `--config=<file>`: a properties file to load. */
  readonly configFile: string | undefined
  /** Arguments that are not options (Kafka's start script takes the properties file this way). */
  readonly positionals: readonly string[]
  /** Options without a dot that are not --config/--override (e.g. --help), left to the caller. */
  readonly flags: readonly string[]
}

function splitOverride (text: string): [string, string] {
  const eq = text.indexOf('=')
  if (eq <= 0) throw new ConfigError(`Invalid override '${text}': expected key=value`)
  return [text.slice(0, eq).trim(), text.slice(eq + 1)]
}

/**
 * Reads configs from argv: `--log.dirs /x`, `--log.dirs=/x` (any option whose name contains a dot is
 * a config), `--override key=value` as Kafka's kafka-server-start accepts, `--config file`. Everything
 * after a bare `--` is positional.
 */
export function fromArgs (argv: readonly string[]): ParsedArgs {
  const values: Record<string, string> = {}
  const positionals: string[] = []
  const flags: string[] = []
  let configFile: string | undefined
  const next = (i: number, option: string): string => {
    const value = argv[i + 1]
    if (value === undefined) throw new ConfigError(`Option ${option} requires a value`)
    return value
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const option = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    const inline = eq === -1 ? undefined : arg.slice(eq + 1)
    if (option === 'override') {
      const [key, value] = splitOverride(inline ?? next(i++, arg))
      setOwn(values, key, value)
    } else if (option === 'config') {
      configFile = inline ?? next(i++, arg)
    } else if (option.includes('.') || BROKER_CONFIG_DEF.has(option)) {
      // Config names carry a dot, except a few such as `listeners`.
      setOwn(values, option, inline ?? next(i++, arg))
    } else {
      flags.push(arg)
    }
  }
  return { values, configFile, positionals, flags }
}
