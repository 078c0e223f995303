import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ConfigError } from '../../src/config/config-def.ts'
import {
  configNameToEnv, envToConfigName, formatProperty, fromArgs, fromEnv, parseProperties
} from '../../src/config/properties.ts'

describe('parseProperties', () => {
  test('the three separators, whitespace and comments', () => {
    const text = [
      '# a comment',
      '! another comment',
      '',
      '   ',
      'a=1',
      'b: 2',
      'c 3',
      '  d  =  4',
      'e\t:\tfive',
      'f',
      'g=',
      'h = trailing  ',
      'i==x',
      'j :=y',
      '  # indented comment'
    ].join('\n')
    assert.deepEqual(parseProperties(text), {
      a: '1', b: '2', c: '3', d: '4', e: 'five', f: '', g: '', h: 'trailing  ', i: '=x', j: '=y'
    })
  })

  test('line continuations drop the backslash, the newline and the next line\'s indentation', () => {
    const text = 'listeners=PLAINTEXT://:9092,\\\n    SSL://:9093\nk=a\\\n\\\n  b\r\nl=\\\\\nm=end\\'
    assert.deepEqual(parseProperties(text), {
      listeners: 'PLAINTEXT://:9092,SSL://:9093',
      k: 'ab',
      l: '\\',
      m: 'end'
    })
  })

  test('a continuation line starting with # is data, a comment cannot continue', () => {
    assert.deepEqual(parseProperties('a=1,\\\n#2\n# c \\\nb=3'), { a: '1,#2', b: '3' })
  })

  test('escapes: \\t \\n \\uXXXX, escaped separators and other escaped characters', () => {
    const text = 'key\\=with\\:seps\\ and\\ spaces = tab\\there\\nnew \\u00e9\\u4e2d \\q\\\\'
    assert.deepEqual(parseProperties(text), { 'key=with:seps and spaces': 'tab\there\nnew é中 q\\' })
    assert.throws(() => parseProperties('a=\\u12'), (e: unknown) => e instanceof ConfigError && e.message === 'Malformed \\uxxxx encoding.')
  })

  test('CRLF and CR line ends, BOM, duplicates: last wins', () => {
    assert.deepEqual(parseProperties('\uFEFFa=1\r\nb=2\rc=3\na=4'), { a: '4', b: '2', c: '3' })
  })

  test('property: formatProperty round-trips through parseProperties', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string(), (key, value) => {
      assert.deepEqual(parseProperties(formatProperty(key, value)), { [key]: value })
    }))
  })
})

describe('environment', () => {
  test('SAMSA_* variables map to config names', () => {
    assert.equal(envToConfigName('SAMSA_LOG_DIRS'), 'log.dirs')
    assert.equal(envToConfigName('SAMSA_LISTENER_NAME_SASL__PLAINTEXT_SASL_ENABLED_MECHANISMS'), 'listener.name.sasl_plaintext.sasl.enabled.mechanisms')
    assert.equal(envToConfigName('SAMSA_A___B'), 'a-b')
    assert.equal(envToConfigName('OTHER_LOG_DIRS'), undefined)
    assert.equal(envToConfigName('SAMSA_'), undefined)
    assert.deepEqual(fromEnv({ SAMSA_LOG_DIRS: '/x', SAMSA_NUM_PARTITIONS: '3', SAMSA_EMPTY: '', PATH: '/bin', SAMSA_UNSET: undefined }), {
      'log.dirs': '/x', 'num.partitions': '3', empty: ''
    })
    assert.deepEqual(fromEnv({ KAFKA_LOG_DIRS: '/k' }, 'KAFKA_'), { 'log.dirs': '/k' })
  })

  test('property: configNameToEnv is inverted by envToConfigName', () => {
    fc.assert(fc.property(fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/), (name) => {
      assert.equal(envToConfigName(configNameToEnv(name)), name)
    }))
  })
})

describe('fromArgs', () => {
  test('--name value, --name=value, --override and --config', () => {
    const parsed = fromArgs(['--log.dirs', '/a', '--num.partitions=3', '--override', 'broker.id=2', '--override=x.y=a=b',
      '--config', 'server.properties', '--help', 'extra', '--', '--not.an.option'])
    assert.deepEqual(parsed.values, { 'log.dirs': '/a', 'num.partitions': '3', 'broker.id': '2', 'x.y': 'a=b' })
    assert.equal(parsed.configFile, 'server.properties')
    assert.deepEqual(parsed.flags, ['--help'])
    assert.deepEqual(parsed.positionals, ['extra', '--not.an.option'])
  })

  test('later arguments win; errors for missing values', () => {
    assert.deepEqual(fromArgs(['--a.b=1', '--override', 'a.b=2']).values, { 'a.b': '2' })
    assert.throws(() => fromArgs(['--log.dirs']), /Option --log.dirs requires a value/)
    assert.throws(() => fromArgs(['--override', 'novalue']), /Invalid override 'novalue': expected key=value/)
  })
})
