// Helpers for the group coordinator tests: an in-process broker with a raw protocol client, and
// short-hands for the classic group requests, each at a chosen version.
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import {
  CreateTopicsApi, ErrorCode, HeartbeatApi, JoinGroupApi, OffsetCommitApi, OffsetFetchApi, ProduceApi, SyncGroupApi, buildRecordBatch,
  encodeAssignment, encodeSubscription
} from '@samsa/protocol'
import type { JoinGroupResponse } from '@samsa/protocol/messages/join-group'
import type { OffsetCommitResponse } from '@samsa/protocol/messages/offset-commit'
import type { OffsetFetchResponse } from '@samsa/protocol/messages/offset-fetch'
import type { SyncGroupResponse } from '@samsa/protocol/messages/sync-group'
import { type RawClient, type StartBrokerOptions, type TestBroker, connectRaw, startBroker } from '@samsa/testkit'

export async function broker (t: TestContext, options: StartBrokerOptions = {}): Promise<TestBroker> {
  const b = await startBroker(options)
  t.after(() => b.stop())
  return b
}

export async function client (t: TestContext, b: TestBroker, clientId = 'group-test'): Promise<RawClient> {
  const c = await connectRaw(b.bootstrap, clientId)
  t.after(() => c.close())
  return c
}

export async function createTopic (c: RawClient, name: string, partitions = 1): Promise<void> {
  const response = await c.request(CreateTopicsApi, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false
  })
  assert.equal(response.topics[0]!.errorCode, ErrorCode.NONE, response.topics[0]!.errorMessage ?? '')
}

export async function produce (c: RawClient, topic: string, partition: number, values: string[]): Promise<void> {
  const records = buildRecordBatch({ records: values.map((v) => ({ key: v, value: v })) })
  const r = await c.request(ProduceApi, 9, {
    transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }]
  })
  assert.equal(r.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE)
}

export const subscription = (topics: string[]): Buffer => encodeSubscription({ topics }, 0)
export const assignment = (topic: string, partitions: number[]): Buffer => encodeAssignment({ assignedPartitions: [{ topic, partitions }] }, 0)

export interface JoinOptions {
  version?: number
  memberId?: string
  groupInstanceId?: string | null
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
  protocolType?: string
  protocols?: Array<{ name: string, metadata: Buffer }>
}

export async function join (c: RawClient, groupId: string, o: JoinOptions = {}): Promise<JoinGroupResponse> {
  return await c.request(JoinGroupApi, o.version ?? 5, {
    groupId,
    sessionTimeoutMs: o.sessionTimeoutMs ?? 10000,
    rebalanceTimeoutMs: o.rebalanceTimeoutMs ?? 10000,
    memberId: o.memberId ?? '',
    groupInstanceId: o.groupInstanceId ?? null,
    protocolType: o.protocolType ?? 'consumer',
    protocols: o.protocols ?? [{ name: 'range', metadata: subscription(['t']) }],
    reason: null
  })
}

/** JoinGroup v4+ for a new dynamic member: MEMBER_ID_REQUIRED, then join with the id. */
export async function joinNew (c: RawClient, groupId: string, o: JoinOptions = {}): Promise<JoinGroupResponse> {
  const first = await join(c, groupId, o)
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return first
  return await join(c, groupId, { ...o, memberId: first.memberId })
}

export async function sync (c: RawClient, groupId: string, generationId: number, memberId: string,
  assignments: Array<{ memberId: string, assignment: Buffer }> = [], version = 3, groupInstanceId: string | null = null): Promise<SyncGroupResponse> {
  return await c.request(SyncGroupApi, version, { groupId, generationId, memberId, groupInstanceId, protocolType: null, protocolName: null, assignments })
}

export async function heartbeat (c: RawClient, groupId: string, generationId: number, memberId: string, version = 3, groupInstanceId: string | null = null): Promise<number> {
  return (await c.request(HeartbeatApi, version, { groupId, generationId, memberId, groupInstanceId })).errorCode
}

export async function commit (c: RawClient, groupId: string, offsets: Array<{ topic: string, partition: number, offset: number, metadata?: string | null }>,
  o: { version?: number, generationId?: number, memberId?: string, groupInstanceId?: string | null, leaderEpoch?: number } = {}): Promise<OffsetCommitResponse> {
  const topics = new Map<string, Array<{ partitionIndex: number, committedOffset: bigint, committedLeaderEpoch: number, commitTimestamp: bigint, committedMetadata: string | null }>>()
  for (const x of offsets) {
    const list = topics.get(x.topic) ?? []
    topics.set(x.topic, list)
    list.push({ partitionIndex: x.partition, committedOffset: BigInt(x.offset), committedLeaderEpoch: o.leaderEpoch ?? -1, commitTimestamp: -1n, committedMetadata: x.metadata === undefined ? '' : x.metadata })
  }
  return await c.request(OffsetCommitApi, o.version ?? 8, {
    groupId,
    generationIdOrMemberEpoch: o.generationId ?? -1,
    memberId: o.memberId ?? '',
    groupInstanceId: o.groupInstanceId ?? null,
    retentionTimeMs: -1n,
    topics: [...topics].map(([name, partitions]) => ({ name, partitions }))
  })
}

export async function fetchOffsets (c: RawClient, groupId: string, topics: Array<{ name: string, partitionIndexes: number[] }> | null, version = 7): Promise<OffsetFetchResponse> {
  return await c.request(OffsetFetchApi, version, { groupId, topics, groups: [], requireStable: false })
}

export function commitErrors (r: OffsetCommitResponse): number[] {
  return r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))
}

export async function waitFor (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}
