/**
 * Hands out producer ids (Kafka's ProducerIdManager): blocks of PRODUCER_ID_BLOCK_SIZE ids
 * reserved durably in the metadata store (allocateProducerIdBlock) before any id of the block is
 * given out, so an id is never handed out twice, even across crashes (the rest of a block in
 * use when the broker stops is skipped). The next block is fetched when 90% of the current one
 * is used, so callers rarely wait.
 */
import type { ProducerIdBlock } from '../metadata/metadata-store.ts'

/** Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
export const PRODUCER_ID_BLOCK_SIZE = 1000

export interface ProducerIdSource {
  allocateProducerIdBlock (size: number): Promise<ProducerIdBlock>
}

export class ProducerIdManager {
  readonly #source: ProducerIdSource
  readonly #blockSize: number
  #next = 0n
  #end = 0n
  /** The block fetched ahead of time, if any. */
  #prefetched: ProducerIdBlock | undefined
  #fetching: Promise<void> | undefined

  constructor (source: ProducerIdSource, blockSize = PRODUCER_ID_BLOCK_SIZE) {
    this.#source = source
    this.#blockSize = blockSize
  }

  /** Resolves once an id can be taken synchronously with next(). */
  async ready (): Promise<void> {
    while (this.#next >= this.#end) {
      if (this.#prefetched !== undefined) {
        this.#install(this.#prefetched)
        this.#prefetched = undefined
        break
      }
      await this.#fetch()
    }
  }

  /** An id no one has had; call after ready() without an await in between. */
  next (): bigint {
    if (this.#next >= this.#end) {
      if (this.#prefetched === undefined) throw new Error('No producer id available: await ready() first')
      this.#install(this.#prefetched)
      this.#prefetched = undefined
    }
    const id = this.#next++
    // Fetch the next block ahead of time once 90% of this one is used.
    if (this.#prefetched === undefined && this.#fetching === undefined && (this.#end - this.#next) * 10n < BigInt(this.#blockSize)) {
      void this.#fetch().catch(() => { /* retried by the next ready() */ })
    }
    return id
  }

  async generate (): Promise<bigint> {
    await this.ready()
    return this.next()
  }

  #install (block: ProducerIdBlock): void {
    this.#next = block.firstProducerId
    this.#end = block.firstProducerId + BigInt(block.size)
  }

  async #fetch (): Promise<void> {
    this.#fetching ??= this.#source.allocateProducerIdBlock(this.#blockSize).then((block) => {
      if (this.#next >= this.#end) this.#install(block)
      else this.#prefetched = block
    }).finally(() => { this.#fetching = undefined })
    await this.#fetching
  }
}
