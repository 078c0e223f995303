/**
 * The client side of an incremental fetch session (KIP-227; Kafka's FetchSessionHandler), one
 * per broker. The first request is full and asks for a session (session id 0, epoch 0); when
 * the broker answers with a session id, later requests carry only what changed since the last
 * one (partitions added, or with a new fetch offset, byte limit or leader epoch) and list the
 * partitions to forget, and responses carry only partitions with something new. Any error
 * resets the handler to a full request: a session the broker lost (FETCH_SESSION_ID_NOT_FOUND,
 * INVALID_FETCH_SESSION_EPOCH) or a request whose fate is unknown (network error, timeout).
 * A broker that answers a session request with id 0 (no room in its session cache) gets full
 * requests, which keep asking for a session, as Kafka's consumer does. With sessions off, or
 * below Fetch v7, every request is a sessionless full fetch (epoch -1).
 */

/** A partition as a Fetch request states it. */
export interface SessionPartition {
  readonly key: string
  readonly topic: string
  readonly topicId: string
  readonly partition: number
  readonly fetchOffset: number
  readonly maxBytes: number
  readonly leaderEpoch: number
}

/** What one request carries. */
export interface SessionRequest {
  readonly sessionId: number
  readonly sessionEpoch: number
  /** True when the request lists every partition. */
  readonly full: boolean
  readonly toSend: readonly SessionPartition[]
  readonly toForget: readonly SessionPartition[]
  /** Every partition the broker will fetch for this request, by key. */
  readonly partitions: ReadonlyMap<string, SessionPartition>
  /** Whether partitions are named by topic id (Fetch v13+). */
  readonly topicIds: boolean
}

const INVALID_SESSION_ID = 0
const INITIAL_EPOCH = 0
const FINAL_EPOCH = -1

function changed (a: SessionPartition, b: SessionPartition): boolean {
  return a.fetchOffset !== b.fetchOffset || a.maxBytes !== b.maxBytes || a.leaderEpoch !== b.leaderEpoch || a.topicId !== b.topicId
}

export class FetchSessionHandler {
  #sessionId = INVALID_SESSION_ID
  #epoch = INITIAL_EPOCH
  #topicIds = false
  /** The partitions the broker's session holds, as last sent. */
  #partitions = new Map<string, SessionPartition>()

  get sessionId (): number {
    return this.#sessionId
  }

  get sessionEpoch (): number {
    return this.#epoch
  }

  /**
   * The next request for the partitions wanted now. `sessions` false (or a version below 7)
   * makes it a sessionless full fetch; a change between topic names and ids starts a new session.
   */
  build (wanted: ReadonlyMap<string, SessionPartition>, options: { sessions: boolean, topicIds: boolean }): SessionRequest {
    if (!options.sessions) {
      this.#sessionId = INVALID_SESSION_ID
      this.#epoch = INITIAL_EPOCH
      this.#partitions.clear()
      return { sessionId: INVALID_SESSION_ID, sessionEpoch: FINAL_EPOCH, full: true, toSend: [...wanted.values()], toForget: [], partitions: wanted, topicIds: options.topicIds }
    }
    if (options.topicIds !== this.#topicIds) {
      this.#topicIds = options.topicIds
      this.#epoch = INITIAL_EPOCH
    }
    if (this.#sessionId === INVALID_SESSION_ID || this.#epoch === INITIAL_EPOCH) {
      return { sessionId: this.#sessionId, sessionEpoch: INITIAL_EPOCH, full: true, toSend: [...wanted.values()], toForget: [], partitions: wanted, topicIds: options.topicIds }
    }
    const toSend: SessionPartition[] = []
    const toForget: SessionPartition[] = []
    for (const [key, p] of this.#partitions) {
      if (!wanted.has(key)) toForget.push(p)
    }
    for (const [key, p] of wanted) {
      const known = this.#partitions.get(key)
      if (known === undefined || changed(known, p)) toSend.push(p)
    }
    return { sessionId: this.#sessionId, sessionEpoch: this.#epoch, full: false, toSend, toForget, partitions: wanted, topicIds: options.topicIds }
  }

  /** Records a response without a top-level error; the session now holds the request's partitions. */
  handleResponse (request: SessionRequest, responseSessionId: number): void {
    if (request.sessionEpoch === FINAL_EPOCH) return
    if (request.full) {
      if (responseSessionId === INVALID_SESSION_ID) {
        this.#sessionId = INVALID_SESSION_ID
        this.#epoch = INITIAL_EPOCH
        this.#partitions.clear()
        return
      }
      this.#sessionId = responseSessionId
      this.#epoch = 1
    } else {
      this.#epoch = this.#epoch >= 0x7fffffff ? 1 : this.#epoch + 1
    }
    this.#partitions = new Map(request.partitions)
  }

  /**
   * After a top-level error or a failed request: the next request is full. A session the broker
   * does not know is forgotten; otherwise the full request replaces it (same id, epoch 0).
   */
  handleError (forgetSession: boolean): void {
    if (forgetSession) this.#sessionId = INVALID_SESSION_ID
    this.#epoch = INITIAL_EPOCH
    this.#partitions.clear()
  }
}
