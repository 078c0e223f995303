// Property: compaction output read back equals "latest value per key" from a model of every
// append, with tombstones, several segments, several passes, appends (and reads) while a pass
// runs, a bounded offset map and different delete retentions.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { CompressionType } from '@samsa/protocol'
import { Harness, type ModelRecord, type ReadRecord, type Rec, assertOffsetsPreserved, latestPerKey, nextTick } from './log-cleaner-fixtures.ts'

type Op =
  | { kind: 'append', records: Rec[], compression: CompressionType }
  | { kind: 'roll' }
  | { kind: 'clean' }
  | { kind: 'cleanWhileAppending', batches: Rec[][] }
  | { kind: 'tick', ms: number }
  | { kind: 'reopen' }

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j')
const rec: fc.Arbitrary<Rec> = fc.record({
  key: fc.option(key, { nil: null, freq: 15 }),
  value: fc.option(fc.string({ maxLength: 24 }), { nil: null, freq: 5 })
})
const batch = fc.array(rec, { minLength: 1, maxLength: 6 })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), records: batch, compression: fc.constantFrom(CompressionType.none, CompressionType.gzip, CompressionType.lz4) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'roll' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'clean' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cleanWhileAppending' as const), batches: fc.array(batch, { minLength: 1, maxLength: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) }
)

/** Reads back what the model says every key's latest value is, with the records' own offsets. */
function check (read: readonly ReadRecord[], model: readonly ModelRecord[]): void {
  assertOffsetsPreserved(read, model)
  assert.deepEqual(latestPerKey(read), latestPerKey(model))
}

describe('compaction: read back equals the latest value per key', () => {
  it('holds over random appends, tombstones, rolls, passes, appends during passes and reopens', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(op, { minLength: 1, maxLength: 40 }),
      fc.constantFrom(0, 1000, 86_400_000),
      fc.constantFrom(2, 5, 1000),
      fc.constantFrom(256, 1024, 8192),
      async (ops, deleteRetentionMs, slots, segmentBytes) => {
        const h = new Harness({
          config: { 'delete.retention.ms': deleteRetentionMs, 'segment.bytes': segmentBytes },
          cleaner: { dedupeBufferSize: slots * 96, dedupeBufferLoadFactor: 1, maxSliceMs: 0 }
        })
        for (const o of ops) {
          switch (o.kind) {
            case 'append':
              h.append(o.records, { compression: o.compression })
              break
            case 'roll':
              h.roll()
              break
            case 'clean': {
              const result = await h.cleaner.cleanLog(h.log)
              assert.notEqual(result?.outcome, 'failed', String(result?.error))
              break
            }
            case 'cleanWhileAppending': {
              let done = false
              const pass = h.cleaner.cleanLog(h.log).finally(() => { done = true })
              for (const b of o.batches) {
                await nextTick()
                h.append(b)
                // Reads during the pass see a consistent log.
                check(h.readAll(), h.model)
              }
              while (!done) await nextTick()
              assert.notEqual((await pass)?.outcome, 'failed')
              break
            }
            case 'tick':
              h.now += o.ms
              break
            case 'reopen':
              await h.reopen()
              break
          }
          check(h.readAll(), h.model)
        }
        // Everything cleanable cleaned: below the checkpoint each key appears at most once,
        // at its latest offset, and every key whose latest record is a value keeps it.
        h.roll()
        h.now += deleteRetentionMs
        const results = await h.cleaner.cleanNow()
        assert.ok(results.every((r) => r.outcome === 'cleaned'), JSON.stringify(results.map((r) => r.outcome)))
        const read = h.readAll()
        check(read, h.model)
        const end = h.cleaner.checkpointedOffset(h.log) ?? 0
        assert.equal(end, h.log.activeSegment.baseOffset)
        if (slots === 1000) {
          const latest = new Map<string, ModelRecord>()
          for (const m of h.model) if (m.key !== null && m.offset < end) latest.set(m.key, m)
          const below = read.filter((r) => r.offset < end)
          assert.equal(new Set(below.map((r) => r.key)).size, below.length, 'a key twice in the cleaned range')
          for (const r of below) assert.equal(r.offset, latest.get(r.key!)?.offset)
          for (const m of latest.values()) {
            if (m.value !== null) assert.ok(below.some((r) => r.offset === m.offset), `latest value of ${m.key!} at ${m.offset} lost`)
          }
        }
        await h.reopen()
        check(h.readAll(), h.model)
      }
    ), { numRuns: 60 })
  })
})
