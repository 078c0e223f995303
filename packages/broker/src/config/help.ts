/** `samsa start --help`: the supported broker configs as a readable text table. */
import { type ConfigKey, convertToString } from './config-def.ts'
import { BROKER_CONFIG_DEF, BrokerConfigGroup } from './broker-configs.ts'
import { configNameToEnv } from './properties.ts'

export interface ConfigHelpOptions {
  /** Total line width to wrap the description column to (default 120). */
  readonly width?: number
  /** Show deprecated configs too (default false). */
  readonly includeDeprecated?: boolean
}

function defaultText (key: ConfigKey): string {
  const value = convertToString(key.default, key.type)
  if (value === null) return '(none)'
  return value === '' ? '""' : value
}

function wrap (text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines.length === 0 ? [''] : lines
}

/**
 * Every supported broker config grouped by area: name, type and default on one line, then its
 * description (with Samsa's note where it differs from Kafka) wrapped below. Dynamic configs
 * (changeable with AlterConfigs) are marked with '*'.
 */
export function formatConfigHelp (options: ConfigHelpOptions = {}): string {
  const width = Math.max(options.width ?? 100, 60)
  const keys = BROKER_CONFIG_DEF.keys().filter((k) => options.includeDeprecated === true || !k.deprecated)
  const nameWidth = Math.min(44, Math.max(...keys.map((k) => k.name.length + 1)))
  const typeWidth = Math.max(...keys.map((k) => k.type.length))
  const indent = ' '.repeat(6)
  const out: string[] = [
    'Broker configuration (Kafka names). Set them in a properties file (--config server.properties),',
    `as environment variables (${configNameToEnv('log.dirs')}=... for log.dirs; '_' in a name is '__'),`,
    'or on the command line (--log.dirs=/data or --override log.dirs=/data); later sources win.',
    'Configs marked * can also be changed at runtime with AlterConfigs.',
    ''
  ]
  for (const group of Object.values(BrokerConfigGroup)) {
    const inGroup = keys.filter((k) => k.group === group)
    if (inGroup.length === 0) continue
    out.push(`${group}:`)
    for (const key of inGroup) {
      const name = `${key.name}${key.updateMode === 'read-only' ? '' : '*'}`
      out.push(`  ${name.padEnd(nameWidth)}  ${key.type.toLowerCase().padEnd(typeWidth)}  default: ${defaultText(key)}`)
      const text = key.note === undefined ? key.documentation : `${key.documentation} ${key.note}`
      for (const line of wrap(text, width - indent.length)) out.push(`${indent}${line}`)
    }
    out.push('')
  }
  return out.join('\n')
}
