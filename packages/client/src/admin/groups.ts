/**
 * Group administration: ListGroups (every broker), DescribeGroups (classic groups) and
 * ConsumerGroupDescribe (KIP-848 groups) at each group's coordinator, DeleteGroups.
 */
import {
  CONSUMER_PROTOCOL_TYPE, ConsumerGroupDescribeApi, DeleteGroupsApi, DescribeGroupsApi, ErrorCode, ListGroupsApi,
  decodeAssignment, decodeSubscription
} from '@samsa/protocol'
import type { ListGroupsRequest } from '@samsa/protocol/messages/list-groups'
import { type Cluster, CoordinatorType } from '../cluster.ts'
import {
  type ItemFailure, KafkaResponseError, KafkaUnsupportedVersionError
} from '../errors.ts'
import { failure, requestBroker, resultOrPartial, requireItems } from './routing.ts'

export interface GroupListing {
  groupId: string
  /** 'consumer' for consumer groups, '' for KIP-848 groups on older responses... */
  protocolType: string
  /** Empty, Stable, PreparingRebalance... (ListGroups v4+, else ''). */
  groupState: string
  /** classic, consumer, share (ListGroups v5+, else ''). */
  groupType: string
  /** The broker that answered: the group's coordinator. */
  coordinatorId: number
}

export interface ListGroupsOptions {
  /** Only groups in these states (ListGroups v4+). */
  states?: readonly string[]
  /** Only groups of these types: classic, consumer, share (ListGroups v5+). */
  types?: readonly string[]
}

/** Lists the groups of every broker (each coordinates its own). */
export async function listGroups (cluster: Cluster, options: ListGroupsOptions = {}): Promise<GroupListing[]> {
  const metadata = await cluster.refreshMetadata({ topics: [] })
  const states = options.states ?? []
  const types = options.types ?? []
  const result: GroupListing[] = []
  const failures: ItemFailure[] = []
  await Promise.all([...metadata.brokers.keys()].map(async (nodeId) => {
    try {
      const limits = types.length > 0 ? { minVersion: 5 } : states.length > 0 ? { minVersion: 4 } : {}
      const response = await requestBroker(cluster, nodeId, ListGroupsApi, { statesFilter: [...states], typesFilter: [...types] } satisfies ListGroupsRequest, limits)
      if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode, null, { api: 'ListGroups' })
      for (const g of response.groups) {
        result.push({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState, groupType: g.groupType, coordinatorId: nodeId })
      }
    } catch (error) {
      failures.push(failure(`brokers/${nodeId}`, error))
    }
  }))
  result.sort((a, b) => a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0)
  return resultOrPartial(`Listing groups failed on ${failures.length} brokers`, result, failures)
}

export interface GroupMemberAssignment {
  topic: string
  partitions: number[]
}

export interface GroupMemberDescription {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  /** Decoded for "consumer" groups: subscribed topics (classic) or subscribed topic names (KIP-848). */
  subscribedTopics: string[]
  /** The member's current assignment, decoded for consumer groups. */
  assignment: GroupMemberAssignment[]
  /** Raw classic metadata and assignment bytes (empty for KIP-848 groups). */
  memberMetadata: Buffer
  memberAssignment: Buffer
  /** KIP-848 only. */
  memberEpoch?: number
  rackId?: string | null
  targetAssignment?: GroupMemberAssignment[]
}

export interface GroupDescription {
  groupId: string
  /** 'classic' (DescribeGroups) or 'consumer' (ConsumerGroupDescribe). */
  groupType: 'classic' | 'consumer'
  groupState: string
  protocolType: string
  /** The assignor (classic: protocol name; KIP-848: assignor name). */
  protocolData: string
  members: GroupMemberDescription[]
  coordinatorId: number
  /** KIP-848 only. */
  groupEpoch?: number
  assignmentEpoch?: number
}

function decodeTopics (buf: Buffer, decode: 'subscription' | 'assignment'): { topics: string[], assignment: GroupMemberAssignment[] } {
  if (buf.length === 0) return { topics: [], assignment: [] }
  try {
    if (decode === 'subscription') return { topics: decodeSubscription(buf).topics, assignment: [] }
    return { topics: [], assignment: decodeAssignment(buf).assignedPartitions }
  } catch {
    return { topics: [], assignment: [] }
  }
}

async function describeConsumerGroup (cluster: Cluster, groupId: string): Promise<GroupDescription | null> {
  return await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection, coordinator) => {
    if (!connection.supports(ConsumerGroupDescribeApi)) return null
    const response = await connection.request(ConsumerGroupDescribeApi, { groupIds: [groupId], includeAuthorizedOperations: false })
    const g = response.groups[0]
    if (g === undefined) throw new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, 'No result', { api: 'ConsumerGroupDescribe', resource: groupId })
    // Not a KIP-848 group (or not there at all): the classic path describes it.
    if (g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return null
    if (g.errorCode !== 0) throw new KafkaResponseError(g.errorCode, g.errorMessage, { api: 'ConsumerGroupDescribe', resource: groupId })
    return {
      groupId: g.groupId,
      groupType: 'consumer',
      groupState: g.groupState,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolData: g.assignorName,
      coordinatorId: coordinator.nodeId,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopics: m.subscribedTopicNames,
        assignment: m.assignment.topicPartitions.map((tp) => ({ topic: tp.topicName, partitions: tp.partitions })),
        targetAssignment: m.targetAssignment.topicPartitions.map((tp) => ({ topic: tp.topicName, partitions: tp.partitions })),
        memberEpoch: m.memberEpoch,
        rackId: m.rackId,
        memberMetadata: Buffer.alloc(0),
        memberAssignment: Buffer.alloc(0)
      }))
    }
  })
}

async function describeClassicGroup (cluster: Cluster, groupId: string): Promise<GroupDescription> {
  return await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection, coordinator) => {
    const response = await connection.request(DescribeGroupsApi, { groups: [groupId], includeAuthorizedOperations: false })
    const g = response.groups[0]
    if (g === undefined) throw new KafkaResponseError(ErrorCode.UNKNOWN_SERVER_ERROR, 'No result', { api: 'DescribeGroups', resource: groupId })
    if (g.errorCode !== 0) throw new KafkaResponseError(g.errorCode, null, { api: 'DescribeGroups', resource: groupId })
    const consumer = g.protocolType === CONSUMER_PROTOCOL_TYPE
    return {
      groupId: g.groupId,
      groupType: 'classic',
      groupState: g.groupState,
      protocolType: g.protocolType,
      protocolData: g.protocolData,
      coordinatorId: coordinator.nodeId,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopics: consumer ? decodeTopics(m.memberMetadata, 'subscription').topics : [],
        assignment: consumer ? decodeTopics(m.memberAssignment, 'assignment').assignment : [],
        memberMetadata: m.memberMetadata,
        memberAssignment: m.memberAssignment
      }))
    }
  })
}

/**
 * Describes groups at their coordinators: ConsumerGroupDescribe first where the broker has it
 * (KIP-848 groups), DescribeGroups for classic groups. A group that does not exist is described
 * by Kafka as state 'Dead' with no members.
 */
export async function describeGroups (cluster: Cluster, groupIds: readonly string[]): Promise<GroupDescription[]> {
  requireItems(groupIds, 'describeGroups() needs at least one group id')
  const result: GroupDescription[] = []
  const failures: ItemFailure[] = []
  await Promise.all(groupIds.map(async (groupId) => {
    try {
      const consumer = await describeConsumerGroup(cluster, groupId)
      result.push(consumer ?? await describeClassicGroup(cluster, groupId))
    } catch (error) {
      failures.push(failure(`groups/${groupId}`, error))
    }
  }))
  const order = new Map(groupIds.map((g, i) => [g, i]))
  result.sort((a, b) => order.get(a.groupId)! - order.get(b.groupId)!)
  return resultOrPartial(`Describing ${failures.length} of ${groupIds.length} groups failed`, result, failures)
}

/** Deletes empty groups (and their committed offsets). */
export async function deleteGroups (cluster: Cluster, groupIds: readonly string[]): Promise<void> {
  requireItems(groupIds, 'deleteGroups() needs at least one group id')
  const failures: ItemFailure[] = []
  await Promise.all(groupIds.map(async (groupId) => {
    try {
      await cluster.withCoordinator({ type: CoordinatorType.GROUP, key: groupId }, async (connection) => {
        if (!connection.supports(DeleteGroupsApi)) throw new KafkaUnsupportedVersionError('DeleteGroups', DeleteGroupsApi.apiKey, 'The broker does not support DeleteGroups')
        const response = await connection.request(DeleteGroupsApi, { groupsNames: [groupId] })
        const r = response.results[0]
        if (r !== undefined && r.errorCode !== 0) throw new KafkaResponseError(r.errorCode, null, { api: 'DeleteGroups', resource: groupId })
      })
    } catch (error) {
      failures.push(failure(`groups/${groupId}`, error))
    }
  }))
  resultOrPartial(`Deleting ${failures.length} of ${groupIds.length} groups failed`, undefined, failures)
}
