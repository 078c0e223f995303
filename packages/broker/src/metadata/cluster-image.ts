/**
 * This broker's view of the cluster's members (Kafka's ClusterImage): the live broker
 * registrations and the current controller, kept up to date from the metadata store's events.
 * Topics and partitions live in the TopicRegistry; this holds only who is there.
 *
 * A broker is "live" while its registration exists (its store session is alive). A broker in
 * controlled shutdown is still live (it serves until it stops) but is not eligible to lead or to
 * receive new replicas.
 */
import type { BrokerRegistration, MetadataEvent, MetadataSnapshot } from './metadata-store.ts'

export class ClusterImage {
  readonly #brokers = new Map<number, BrokerRegistration>()
  #controllerId = -1

  load (snapshot: Pick<MetadataSnapshot, 'brokers' | 'controllerId'>): void {
    this.#brokers.clear()
    for (const b of snapshot.brokers) this.#brokers.set(b.nodeId, b)
    this.#controllerId = snapshot.controllerId
  }

  /** Applies membership and controller events; returns whether anything here changed. */
  apply (events: readonly MetadataEvent[]): boolean {
    let changed = false
    for (const e of events) {
      switch (e.type) {
        case 'broker':
          this.#brokers.set(e.broker.nodeId, e.broker)
          changed = true
          break
        case 'broker-gone':
          changed = this.#brokers.delete(e.nodeId) || changed
          break
        case 'controller':
          this.#controllerId = e.nodeId
          changed = true
          break
        default:
      }
    }
    return changed
  }

  get controllerId (): number {
    return this.#controllerId
  }

  /** Live brokers, by node id. */
  get brokers (): BrokerRegistration[] {
    return [...this.#brokers.values()].sort((a, b) => a.nodeId - b.nodeId)
  }

  broker (nodeId: number): BrokerRegistration | undefined {
    return this.#brokers.get(nodeId)
  }

  isLive (nodeId: number): boolean {
    return this.#brokers.has(nodeId)
  }

  /** Live and not shutting down: may lead partitions and receive new replicas. */
  isEligible (nodeId: number): boolean {
    const b = this.#brokers.get(nodeId)
    return b !== undefined && !b.controlledShutdown
  }

  eligibleBrokers (): BrokerRegistration[] {
    return this.brokers.filter((b) => !b.controlledShutdown)
  }
}
