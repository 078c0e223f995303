import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** The kafkajs golden bytes in ../shared (read in place, never copied into the project). */
export const KAFKAJS_FIXTURES = resolve(import.meta.dirname, '../../../../../shared/kafka-fixtures/kafkajs')

export const haveFixtures = existsSync(KAFKAJS_FIXTURES)

export function readFixture (path: string): Buffer {
  const json = JSON.parse(readFileSync(join(KAFKAJS_FIXTURES, path), 'utf8')) as { type: string, data: number[] }
  return Buffer.from(json.data)
}

export function listFixtures (dir: string): string[] {
  const full = join(KAFKAJS_FIXTURES, dir)
  return existsSync(full) ? readdirSync(full).filter((f) => f.endsWith('.json')).sort() : []
}
