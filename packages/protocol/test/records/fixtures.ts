/**
 * Access to the kafkajs byte fixtures in ../shared (read in place, never copied into the
 * repository; see /work/shared/kafka-fixtures/SOURCE.md). Tests skip when they are absent.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FetchApi } from '../../src/messages/fetch.ts'
import { ProduceApi } from '../../src/messages/produce.ts'
import { Reader } from '../../src/primitives/reader.ts'

export const FIXTURES_DIR = '/work/shared/kafka-fixtures/kafkajs/protocol'
export const HAVE_FIXTURES = existsSync(FIXTURES_DIR)
export const SKIP_REASON = `kafkajs fixtures not found at ${FIXTURES_DIR}`

/** A fixture file (`{"type":"Buffer","data":[...]}`) as a Buffer. */
export function fixture (path: string): Buffer {
  const json = JSON.parse(readFileSync(join(FIXTURES_DIR, path), 'utf8')) as { data: number[] }
  return Buffer.from(json.data)
}

export interface PartitionRecords {
  topic: string
  partition: number
  records: Buffer | null
}

/** The records field of every partition of a Fetch response fixture. */
export function fetchResponseRecords (file: string): PartitionRecords[] {
  const version = Number(/^v(\d+)_/.exec(file)![1])
  const res = FetchApi.response.read(new Reader(fixture(`requests/fetch/fixtures/${file}`)), version)
  return res.responses.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partitionIndex, records: p.records })))
}

/** The records field of every partition of a Produce request fixture. */
export function produceRequestRecords (file: string): PartitionRecords[] {
  const version = Number(/^v(\d+)_/.exec(file)![1])
  const req = ProduceApi.request.read(new Reader(fixture(`requests/produce/fixtures/${file}`)), version)
  return req.topicData.flatMap((t) => t.partitionData.map((p) => ({ topic: t.name, partition: p.index, records: p.records })))
}
