import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  ConfigDef, ConfigError, Importance, LONG_MAX, LONG_MIN, Password, atLeast, between, caseInsensitiveValidString,
  convertToString, javaDoubleToString, longToString, parseType, validList, validString
} from '../../src/config/config-def.ts'

function message (fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`)
    return error.message
  }
  assert.fail('expected a ConfigError')
}

describe('parseType', () => {
  test('BOOLEAN accepts true/false in any case, trimmed', () => {
    assert.equal(parseType('x', 'true', 'BOOLEAN'), true)
    assert.equal(parseType('x', ' FALSE ', 'BOOLEAN'), false)
    assert.equal(parseType('x', 'TrUe', 'BOOLEAN'), true)
    assert.equal(message(() => parseType('x', 'yes', 'BOOLEAN')), 'Invalid value yes for configuration x: Expected value to be either true or false')
    assert.equal(message(() => parseType('x', '', 'BOOLEAN')), 'Invalid value  for configuration x: Expected value to be either true or false')
  })

  test('INT is a signed 32-bit decimal (Integer.parseInt)', () => {
    assert.equal(parseType('x', '42', 'INT'), 42)
    assert.equal(parseType('x', ' -7 ', 'INT'), -7)
    assert.equal(parseType('x', '+7', 'INT'), 7)
    assert.equal(parseType('x', '2147483647', 'INT'), 2147483647)
    assert.equal(parseType('x', '-2147483648', 'INT'), -2147483648)
    for (const bad of ['2147483648', '1.5', '1e3', '0x10', '', '12abc', '--1']) {
      assert.equal(message(() => parseType('x', bad, 'INT')), `Invalid value ${bad} for configuration x: Not a number of type INT`)
    }
  })

  test('SHORT is 16-bit', () => {
    assert.equal(parseType('x', '-32768', 'SHORT'), -32768)
    assert.equal(message(() => parseType('x', '32768', 'SHORT')), 'Invalid value 32768 for configuration x: Not a number of type SHORT')
  })

  test('LONG keeps Long.MAX_VALUE as "max" and shows it exactly', () => {
    assert.equal(parseType('x', '9223372036854775807', 'LONG'), LONG_MAX)
    assert.equal(parseType('x', String(2 ** 53), 'LONG'), LONG_MAX)
    assert.equal(parseType('x', '9007199254740990', 'LONG'), 9007199254740990)
    assert.equal(parseType('x', '-9223372036854775808', 'LONG'), LONG_MIN)
    assert.equal(convertToString(LONG_MAX, 'LONG'), '9223372036854775807')
    assert.equal(convertToString(LONG_MIN, 'LONG'), '-9223372036854775808')
    assert.equal(message(() => parseType('retention.ms', 'abc', 'LONG')), 'Invalid value abc for configuration retention.ms: Not a number of type LONG')
    assert.equal(message(() => parseType('x', '9223372036854775808', 'LONG')), 'Invalid value 9223372036854775808 for configuration x: Not a number of type LONG')
  })

  test('DOUBLE follows Double.parseDouble', () => {
    assert.equal(parseType('x', '0.5', 'DOUBLE'), 0.5)
    assert.equal(parseType('x', '.5', 'DOUBLE'), 0.5)
    assert.equal(parseType('x', '1.', 'DOUBLE'), 1)
    assert.equal(parseType('x', '1e3', 'DOUBLE'), 1000)
    assert.equal(parseType('x', '2d', 'DOUBLE'), 2)
    assert.equal(parseType('x', '-Infinity', 'DOUBLE'), -Infinity)
    assert.ok(Number.isNaN(parseType('x', 'NaN', 'DOUBLE')))
    assert.equal(message(() => parseType('x', '1,5', 'DOUBLE')), 'Invalid value 1,5 for configuration x: Not a number of type DOUBLE')
  })

  test('LIST splits on commas with surrounding whitespace; empty string is []', () => {
    assert.deepEqual(parseType('x', 'a,b', 'LIST'), ['a', 'b'])
    assert.deepEqual(parseType('x', '  delete ,  compact  ', 'LIST'), ['delete', 'compact'])
    assert.deepEqual(parseType('x', '', 'LIST'), [])
    assert.deepEqual(parseType('x', '   ', 'LIST'), [])
    // split(regex, -1) keeps trailing empty items
    assert.deepEqual(parseType('x', 'a,', 'LIST'), ['a', ''])
    assert.equal(convertToString(['a', 'b'], 'LIST'), 'a,b')
  })

  test('STRING and CLASS are trimmed, PASSWORD is hidden', () => {
    assert.equal(parseType('x', '  v  ', 'STRING'), 'v')
    assert.equal(parseType('x', ' a.B ', 'CLASS'), 'a.B')
    const password = parseType('x', ' secret ', 'PASSWORD')
    assert.ok(password instanceof Password)
    assert.equal(password.value(), 'secret')
    assert.equal(String(password), '[hidden]')
    assert.equal(JSON.stringify({ password }), '{"password":"[hidden]"}')
  })

  test('property: INT round-trips through its string form', () => {
    fc.assert(fc.property(fc.integer(), (n) => {
      assert.equal(parseType('x', String(n), 'INT'), n)
      assert.equal(convertToString(n, 'INT'), String(n))
    }))
  })

  test('property: LONG round-trips below 2^53 and saturates at or above it', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
      const parsed = parseType('x', n.toString(), 'LONG') as number
      if (n >= 2n ** 53n - 1n) assert.equal(parsed, LONG_MAX)
      else if (n <= -(2n ** 53n - 1n)) assert.equal(parsed, LONG_MIN)
      else {
        assert.equal(parsed, Number(n))
        assert.equal(longToString(parsed), n.toString())
      }
    }))
  })

  test('property: LIST parse of a joined list of plain words gives the words back', () => {
    fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-z0-9.-]{1,8}$/), { minLength: 1, maxLength: 6 }), (items) => {
      assert.deepEqual(parseType('x', items.join(' , '), 'LIST'), items)
    }))
  })
})

describe('javaDoubleToString', () => {
  test('prints like Java', () => {
    assert.equal(javaDoubleToString(0.5), '0.5')
    assert.equal(javaDoubleToString(2), '2.0')
    assert.equal(javaDoubleToString(0), '0.0')
    assert.equal(javaDoubleToString(1e7), '1.0E7')
    assert.equal(javaDoubleToString(1.5e-5), '1.5E-5')
    assert.equal(javaDoubleToString(0.001), '0.001')
    assert.equal(javaDoubleToString(Number.MAX_VALUE), '1.7976931348623157E308')
    assert.equal(javaDoubleToString(Infinity), 'Infinity')
  })
})

describe('validators', () => {
  test('range messages name the bound and print the parsed value', () => {
    const def = new ConfigDef()
      .define({ name: 'segment.bytes', type: 'INT', default: 1024, validator: atLeast(14), importance: Importance.MEDIUM, documentation: '' })
      .define({ name: 'ratio', type: 'DOUBLE', default: 0.5, validator: between(0, 1), importance: Importance.MEDIUM, documentation: '' })
      .define({ name: 'big', type: 'LONG', default: 1, validator: between(-1, 10), importance: Importance.MEDIUM, documentation: '' })
    assert.equal(message(() => def.parseValue('segment.bytes', '-5')), 'Invalid value -5 for configuration segment.bytes: Value must be at least 14')
    assert.equal(message(() => def.parseValue('ratio', '2')), 'Invalid value 2.0 for configuration ratio: Value must be no more than 1')
    assert.equal(message(() => def.parseValue('ratio', '-0.25')), 'Invalid value -0.25 for configuration ratio: Value must be at least 0')
    assert.equal(message(() => def.parseValue('big', '9223372036854775807')), 'Invalid value 9223372036854775807 for configuration big: Value must be no more than 10')
    assert.equal(def.parseValue('segment.bytes', null), 1024)
    assert.equal(atLeast(14).description, '[14,...]')
    assert.equal(between(0, 1).description, '[0,...,1]')
  })

  test('valid strings and lists', () => {
    const s = validString('CreateTime', 'LogAppendTime')
    assert.equal(message(() => s.ensureValid('message.timestamp.type', 'createtime', 'STRING')),
      'Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime')
    assert.doesNotThrow(() => caseInsensitiveValidString('A', 'B').ensureValid('x', 'a', 'STRING'))
    const l = validList('compact', 'delete')
    assert.doesNotThrow(() => l.ensureValid('cleanup.policy', [], 'LIST'))
    assert.equal(message(() => l.ensureValid('cleanup.policy', ['delete', 'bogus'], 'LIST')),
      'Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete')
  })

  test('a definition checks its own default and refuses duplicates', () => {
    assert.throws(() => new ConfigDef().define({ name: 'x', type: 'INT', default: 1, validator: atLeast(5), importance: Importance.LOW, documentation: '' }), ConfigError)
    const def = new ConfigDef().define({ name: 'x', type: 'INT', default: 5, importance: Importance.LOW, documentation: '' })
    assert.throws(() => def.define({ name: 'x', type: 'INT', default: 5, importance: Importance.LOW, documentation: '' }), /defined twice/)
  })

  test('ConfigError carries INVALID_CONFIG (40) by default', () => {
    const error = ConfigError.invalid('a', 'b', 'c')
    assert.equal(error.errorCode, 40)
    assert.equal(error.configName, 'a')
    assert.equal(error.message, 'Invalid value b for configuration a: c')
  })
})
