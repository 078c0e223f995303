/**
 * Helpers for the consumer's integration tests: a broker with short group timeouts, reading a
 * number of records with a deadline, background readers for group members, and polling for a
 * condition.
 */
import { tracingChannel } from 'node:diagnostics_channel'
import { type TestBroker, startBroker } from '@samsa/testkit'
import type { Consumer } from '../../src/consumer/consumer.ts'
import type { ConsumerRecord, TopicPartition } from '../../src/consumer/types.ts'
import type { RequestTraceContext } from '../../src/diagnostics.ts'

/** A broker whose groups react within seconds (both protocols). */
export async function startGroupBroker (config: Record<string, string | number | boolean> = {}): Promise<TestBroker> {
  return await startBroker({
    inMemory: true,
    config: {
      'group.min.session.timeout.ms': 500,
      'group.consumer.min.session.timeout.ms': 500,
      'group.consumer.session.timeout.ms': 2500,
      'group.consumer.min.heartbeat.interval.ms': 50,
      'group.consumer.heartbeat.interval.ms': 250,
      'offsets.topic.num.partitions': 3,
      ...config
    }
  })
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `condition` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** Reads `count` records (then leaves the loop), failing after `timeoutMs`. */
export async function take (consumer: Consumer, count: number, timeoutMs = 15_000): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = []
  if (count === 0) return out
  const iterator = consumer.records()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Read ${out.length} of ${count} records in ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    while (out.length < count) {
      const next = await Promise.race([iterator.next(), timeout])
      if (next.done === true) break
      out.push(next.value)
    }
  } finally {
    clearTimeout(timer)
    await iterator.return?.()
  }
  return out
}

/** Offers `count` more records only if they come within `ms` (to check that nothing else arrives). */
export async function takeFor (consumer: Consumer, ms: number): Promise<ConsumerRecord[]> {
  const out: ConsumerRecord[] = []
  const iterator = consumer.records()
  const stop = sleep(ms).then(() => 'stop' as const)
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), stop])
      if (next === 'stop' || next.done === true) break
      out.push(next.value)
    }
  } finally {
    await iterator.return?.()
  }
  return out
}

/** A group member reading in the background until it is closed, recording what it reads. */
export interface Member {
  readonly consumer: Consumer
  readonly records: ConsumerRecord[]
  /** The loop's end: its error, or undefined when the consumer was closed. */
  readonly done: Promise<unknown>
  /** Milliseconds each record's processing takes (changeable). */
  delayMs: number
}

export function runMember (consumer: Consumer, delayMs = 0): Member {
  const records: ConsumerRecord[] = []
  const state = { delayMs }
  const done = (async () => {
    await Promise.resolve()
    try {
      for await (const record of consumer) {
        records.push(record)
        if (state.delayMs > 0) await sleep(state.delayMs)
      }
      return undefined
    } catch (error) {
      return error
    }
  })()
  return {
    consumer,
    records,
    done,
    get delayMs () { return state.delayMs },
    set delayMs (ms: number) { state.delayMs = ms }
  }
}

/** Collects the trace contexts of requests to one API as they start (`result` is set once they end). */
export function traceRequests (api: string): { calls: RequestTraceContext[], stop: () => void } {
  const calls: RequestTraceContext[] = []
  const channel = tracingChannel<unknown, RequestTraceContext>('samsa:client:request')
  const handlers = {
    start (ctx: RequestTraceContext) { if (ctx.api === api) calls.push(ctx) },
    end () {},
    asyncStart () {},
    asyncEnd () {},
    error () {}
  }
  channel.subscribe(handlers)
  return { calls, stop: () => channel.unsubscribe(handlers) }
}

export function names (partitions: readonly TopicPartition[]): string[] {
  return partitions.map((tp) => `${tp.topic}-${tp.partition}`).sort()
}

export function partitionsOf (partitions: readonly TopicPartition[]): number[] {
  return partitions.map((tp) => tp.partition).sort((a, b) => a - b)
}
