/**
 * Where the replicas of new partitions go: Kafka's AdminUtils.assignReplicasToBrokers.
 *
 * Without racks: partition p's first replica (its preferred leader) is broker
 * (start + p) mod n and the others follow with a shift that grows every n partitions, so
 * leaders and followers spread evenly. With a rack on every broker: the brokers are first
 * interleaved by rack (rack-a broker, rack-b broker, ...), and each further replica skips
 * brokers on racks that already hold one while some rack holds none (so a partition spans as
 * many racks as it can). `start` and `shift` are random in Kafka; callers pass them for
 * deterministic placement.
 */
import { ErrorCode, KafkaProtocolError } from '@samsa/protocol'

export interface PlacementBroker {
  nodeId: number
  rack: string | null
}

export interface PlacementOptions {
  /** The first partition's number (CreatePartitions continues from the existing count). */
  firstPartition?: number
  /** Index of the first replica of partition 0 (default random). */
  startIndex?: number
  /** The initial shift of the followers (default random). */
  replicaShift?: number
  random?: () => number
}

function replicaIndex (firstReplicaIndex: number, secondReplicaShift: number, index: number, nBrokers: number): number {
  const shift = 1 + (secondReplicaShift + index) % (nBrokers - 1)
  return (firstReplicaIndex + shift) % nBrokers
}

/** Brokers ordered so consecutive ones are on different racks (Kafka's getRackAlternatedBrokerList). */
export function rackAlternatedBrokers (brokers: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>()
  for (const b of [...brokers].sort((x, y) => x.nodeId - y.nodeId)) {
    const rack = b.rack ?? ''
    let list = byRack.get(rack)
    if (list === undefined) byRack.set(rack, list = [])
    list.push(b.nodeId)
  }
  const racks = [...byRack.keys()].sort()
  const cursors = new Map(racks.map((r) => [r, 0]))
  const out: number[] = []
  let rackIndex = 0
  while (out.length < brokers.length) {
    const rack = racks[rackIndex]!
    const list = byRack.get(rack)!
    const at = cursors.get(rack)!
    if (at < list.length) {
      out.push(list[at]!)
      cursors.set(rack, at + 1)
    }
    rackIndex = (rackIndex + 1) % racks.length
  }
  return out
}

export function assignReplicasToBrokers (count: number, replicationFactor: number, brokers: readonly PlacementBroker[], options: PlacementOptions = {}): number[][] {
  if (replicationFactor <= 0) throw new KafkaProtocolError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.')
  if (replicationFactor > brokers.length) {
    throw new KafkaProtocolError(ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${brokers.length} broker(s) are registered.`)
  }
  const random = options.random ?? Math.random
  const n = brokers.length
  const withRacks = brokers.every((b) => b.rack !== null)
  const racks = new Map(brokers.map((b) => [b.nodeId, b.rack ?? '']))
  const numRacks = new Set(racks.values()).size
  const arranged = withRacks ? rackAlternatedBrokers(brokers) : brokers.map((b) => b.nodeId).sort((a, b) => a - b)
  const startIndex = options.startIndex ?? Math.floor(random() * n)
  let shift = options.replicaShift ?? Math.floor(random() * n)
  const first = Math.max(0, options.firstPartition ?? 0)
  const out: number[][] = []
  for (let i = 0; i < count; i++) {
    const p = first + i
    if (p > 0 && p % n === 0) shift++
    const firstIndex = (p + startIndex) % n
    const leader = arranged[firstIndex]!
    const replicas = [leader]
    if (!withRacks) {
      for (let j = 0; j < replicationFactor - 1; j++) replicas.push(arranged[replicaIndex(firstIndex, shift, j, n)]!)
    } else {
      const racksWith = new Set([racks.get(leader)!])
      const brokersWith = new Set([leader])
      let k = 0
      for (let j = 0; j < replicationFactor - 1; j++) {
        for (;;) {
          const broker = arranged[replicaIndex(firstIndex, shift * numRacks, k, n)]!
          const rack = racks.get(broker)!
          k++
          if ((!racksWith.has(rack) || racksWith.size === numRacks) && (!brokersWith.has(broker) || brokersWith.size === n)) {
            replicas.push(broker)
            racksWith.add(rack)
            brokersWith.add(broker)
            break
          }
        }
      }
    }
    out.push(replicas)
  }
  return out
}
