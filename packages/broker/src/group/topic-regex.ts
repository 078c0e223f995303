/**
 * Topic regular expressions of KIP-848 subscriptions (SubscribedTopicRegex). Kafka compiles them
 * with RE2/J and matches whole topic names; Samsa accepts the RE2 syntax that JavaScript shares
 * (plus `(?P<name>...)` groups and leading `(?i)`/`(?s)`/`(?m)` flags) and rejects what RE2
 * rejects but JavaScript would run (lookaround, backreferences), so a pattern that works here
 * also works on Kafka.
 */
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'

const cache = new Map<string, RegExp>()

export function compileTopicRegex (regex: string): RegExp {
  const cached = cache.get(regex)
  if (cached !== undefined) return cached
  let source = regex
  let flags = ''
  const leading = /^\(\?([imsU]+)\)/.exec(source)
  if (leading !== null) {
    if (leading[1]!.includes('U')) invalid(regex, 'the ungreedy flag (?U) is not supported')
    flags = [...new Set(leading[1])].join('')
    source = source.slice(leading[0].length)
  }
  if (/\(\?<?[=!]/.test(source)) invalid(regex, 'lookaround is not supported by RE2')
  if (/(^|[^\\])(\\\\)*\\[1-9]/.test(source) || /\\k</.test(source)) invalid(regex, 'backreferences are not supported by RE2')
  source = source.replace(/\(\?P</g, '(?<')
  let compiled: RegExp
  try {
    compiled = new RegExp(`^(?:${source})$`, flags)
  } catch (error) {
    invalid(regex, error instanceof Error ? error.message : String(error))
  }
  if (cache.size > 10_000) cache.clear()
  cache.set(regex, compiled)
  return compiled
}

function invalid (regex: string, why: string): never {
  throw new KafkaProtocolError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex \`${regex}\` is not a valid regular expression: ${why}.`)
}
