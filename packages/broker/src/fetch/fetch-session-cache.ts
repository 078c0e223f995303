/**
 * Incremental fetch sessions (KIP-227). A client may ask the broker to remember the
 * partitions it fetches; later requests then carry only changes (new offsets, added and
 * forgotten partitions), and responses carry only partitions with something new.
 *
 * Request metadata (sessionId, sessionEpoch):
 *   (0, -1)  sessionless full fetch
 *   (0,  0)  full fetch that opens a new session (the response carries its id)
 *   (id, 0)  full fetch that replaces session `id` with a new one
 *   (id, -1) full fetch that closes session `id`
 *   (id, n)  incremental fetch; n must be the session's next epoch
 * Sessions are evicted least-recently-used when the cache is full
 * (`max.incremental.fetch.session.cache.slots`).
 */
export interface SessionPartition {
  topic: string
  topicId: string
  partition: number
  fetchOffset: number
  maxBytes: number
  currentLeaderEpoch: number
  lastFetchedEpoch: number
  logStartOffset: number
  /** What the last response told the client, to decide whether to include it again. */
  lastHighWatermark: number
  lastLastStableOffset: number
  lastLogStartOffset: number
}

export class FetchSession {
  readonly id: number
  /** The epoch the next incremental request must carry. */
  epoch = 1
  /** Keyed by `${topicId or topic}:${partition}`, in the order the client added them. */
  readonly partitions = new Map<string, SessionPartition>()
  lastUsed: number
  /** Whether the session keys partitions by topic id (Fetch v13+). */
  readonly usesTopicIds: boolean

  constructor (id: number, usesTopicIds: boolean, now: number) {
    this.id = id
    this.usesTopicIds = usesTopicIds
    this.lastUsed = now
  }
}

export function sessionKey (topicOrId: string, partition: number): string {
  return `${topicOrId}:${partition}`
}

export class FetchSessionCache {
  readonly maxSessions: number
  readonly #sessions = new Map<number, FetchSession>()
  #nextId = 1 + Math.floor(Math.random() * 0x3fffffff)

  constructor (maxSessions: number) {
    this.maxSessions = maxSessions
  }

  get size (): number {
    return this.#sessions.size
  }

  get (id: number): FetchSession | undefined {
    const session = this.#sessions.get(id)
    if (session !== undefined) {
      // Move to the most-recently-used end.
      this.#sessions.delete(id)
      this.#sessions.set(id, session)
    }
    return session
  }

  /** A new session, or undefined when there is no room (the client then fetches sessionless). */
  create (usesTopicIds: boolean, now: number): FetchSession | undefined {
    if (this.maxSessions <= 0) return undefined
    if (this.#sessions.size >= this.maxSessions) {
      const oldest = this.#sessions.keys().next().value
      if (oldest !== undefined) this.#sessions.delete(oldest)
    }
    let id = this.#nextId
    while (id === 0 || this.#sessions.has(id)) id = (id % 0x7fffffff) + 1
    this.#nextId = (id % 0x7fffffff) + 1
    const session = new FetchSession(id, usesTopicIds, now)
    this.#sessions.set(id, session)
    return session
  }

  remove (id: number): void {
    this.#sessions.delete(id)
  }
}
