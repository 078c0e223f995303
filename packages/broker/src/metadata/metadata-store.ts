/**
 * Cluster metadata: topics (id, partitions and their replica assignments, config overrides).
 * Behind one interface so a single node keeps it in a local file and a cluster in etcd.
 *
 * File store format (`<data>/samsa-metadata.json`, written atomically on every change):
 *
 *     { "version": 1, "topics": [ { "name": "orders", "topicId": "<uuid>",
 *         "partitions": [ { "partition": 0, "replicas": [1], "leaderEpoch": 0 } ],
 *         "configs": { "retention.ms": "60000" } } ],
 *       "brokerConfigs": { "broker": { ... }, "clusterDefault": { ... } },
 *       "nextProducerId": "2000" }
 *
 * `nextProducerId` (a decimal string: producer ids are int64) is the first producer id not
 * handed out yet: allocateProducerIdBlock moves it past each block before the block is used, so
 * no id is ever given out twice, even across crashes (an unused rest of a block is skipped).
 * A crash leaves the previous or the new file (writeFileAtomic). Changes are serialised.
 */
import { join } from 'node:path'
import type { FileSystem } from '@samsa/storage'
import type { DynamicBrokerConfigs } from '../config/mod.ts'

export interface PartitionAssignment {
  partition: number
  replicas: number[]
  leaderEpoch: number
}

export interface TopicMetadata {
  name: string
  topicId: string
  partitions: PartitionAssignment[]
  /** Topic-level config overrides, as strings (Kafka's form). */
  configs: Record<string, string>
}

export interface MetadataStore {
  /** All topics, read when the broker starts. */
  loadTopics (): Promise<TopicMetadata[]>
  putTopic (topic: TopicMetadata): Promise<void>
  deleteTopic (name: string): Promise<void>
  /** Broker configs set at runtime (AlterConfigs on broker resources). */
  loadDynamicBrokerConfigs (): Promise<DynamicBrokerConfigs>
  putDynamicBrokerConfigs (configs: DynamicBrokerConfigs): Promise<void>
  /**
   * Reserves `size` producer ids no one has had (Kafka's AllocateProducerIds): durable before
   * it resolves, so ids are unique across restarts.
   */
  allocateProducerIdBlock (size: number): Promise<ProducerIdBlock>
  close (): Promise<void>
}

export interface ProducerIdBlock {
  firstProducerId: bigint
  size: number
}

interface FileFormat {
  version: 1
  topics: TopicMetadata[]
  brokerConfigs?: DynamicBrokerConfigs
  nextProducerId?: string
}

export const METADATA_FILE = 'samsa-metadata.json'

export class FileMetadataStore implements MetadataStore {
  readonly path: string
  readonly #fs: FileSystem
  readonly #topics = new Map<string, TopicMetadata>()
  #brokerConfigs: DynamicBrokerConfigs = {}
  #nextProducerId = 0n
  #loaded = false
  #writing: Promise<void> = Promise.resolve()

  constructor (fs: FileSystem, dataDir: string) {
    this.#fs = fs
    this.path = join(dataDir, METADATA_FILE)
  }

  async loadTopics (): Promise<TopicMetadata[]> {
    this.#topics.clear()
    if (this.#fs.exists(this.path)) {
      const parsed = JSON.parse(this.#fs.readFile(this.path).toString('utf8')) as FileFormat
      if (parsed.version !== 1 || !Array.isArray(parsed.topics)) {
        throw new Error(`Unsupported metadata file '${this.path}' (version ${String(parsed.version)})`)
      }
      for (const t of parsed.topics) this.#topics.set(t.name, t)
      this.#brokerConfigs = parsed.brokerConfigs ?? {}
      this.#nextProducerId = BigInt(parsed.nextProducerId ?? '0')
    }
    this.#loaded = true
    return await Promise.resolve([...this.#topics.values()].map((t) => structuredClone(t)))
  }

  async putTopic (topic: TopicMetadata): Promise<void> {
    this.#topics.set(topic.name, structuredClone(topic))
    await this.#save()
  }

  async deleteTopic (name: string): Promise<void> {
    this.#topics.delete(name)
    await this.#save()
  }

  async loadDynamicBrokerConfigs (): Promise<DynamicBrokerConfigs> {
    return await Promise.resolve(structuredClone(this.#brokerConfigs))
  }

  async putDynamicBrokerConfigs (configs: DynamicBrokerConfigs): Promise<void> {
    this.#brokerConfigs = structuredClone(configs)
    await this.#save()
  }

  async allocateProducerIdBlock (size: number): Promise<ProducerIdBlock> {
    if (!this.#loaded) await this.loadTopics()
    const firstProducerId = this.#nextProducerId
    this.#nextProducerId += BigInt(size)
    await this.#save()
    return { firstProducerId, size }
  }

  async close (): Promise<void> {
    await this.#writing
  }

  async #save (): Promise<void> {
    const data: FileFormat = {
      version: 1, topics: [...this.#topics.values()], brokerConfigs: this.#brokerConfigs, nextProducerId: String(this.#nextProducerId)
    }
    const bytes = Buffer.from(JSON.stringify(data, null, 2) + '\n')
    const write = this.#writing.then(async () => await this.#fs.writeFileAtomic(this.path, bytes))
    this.#writing = write.catch(() => undefined)
    await write
  }
}

/** A store that keeps nothing on disk (the in-process test broker's in-memory option). */
export class MemoryMetadataStore implements MetadataStore {
  readonly #topics = new Map<string, TopicMetadata>()
  #brokerConfigs: DynamicBrokerConfigs = {}
  #nextProducerId = 0n

  async allocateProducerIdBlock (size: number): Promise<ProducerIdBlock> {
    const firstProducerId = this.#nextProducerId
    this.#nextProducerId += BigInt(size)
    return await Promise.resolve({ firstProducerId, size })
  }

  async loadDynamicBrokerConfigs (): Promise<DynamicBrokerConfigs> {
    return await Promise.resolve(structuredClone(this.#brokerConfigs))
  }

  async putDynamicBrokerConfigs (configs: DynamicBrokerConfigs): Promise<void> {
    this.#brokerConfigs = structuredClone(configs)
    await Promise.resolve()
  }

  async loadTopics (): Promise<TopicMetadata[]> {
    return await Promise.resolve([...this.#topics.values()].map((t) => structuredClone(t)))
  }

  async putTopic (topic: TopicMetadata): Promise<void> {
    this.#topics.set(topic.name, structuredClone(topic))
    await Promise.resolve()
  }

  async deleteTopic (name: string): Promise<void> {
    this.#topics.delete(name)
    await Promise.resolve()
  }

  async close (): Promise<void> {
    await Promise.resolve()
  }
}
