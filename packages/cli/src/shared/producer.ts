/** What produce and perf produce share: acks and codec arguments, and making sure the topic exists. */
import { type Acks, type CompressionName, KafkaResponseError, type Producer } from '@samsa/client'
import { ErrorCode } from '@samsa/protocol'
import { CliError, UsageError } from './errors.ts'

export const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

export function parseCompression (text: string | undefined): CompressionName {
  const value = text ?? 'none'
  if (!(COMPRESSIONS as readonly string[]).includes(value)) throw new UsageError(`invalid --compression '${value}' (expected ${COMPRESSIONS.join(', ')})`)
  return value as CompressionName
}

export function parseAcks (text: string | undefined): Acks {
  switch (text ?? 'all') {
    case '0': return 0
    case '1': return 1
    case 'all': case '-1': return 'all'
    default: throw new UsageError(`invalid --acks '${text}' (expected 0, 1 or all)`)
  }
}

/**
 * Makes sure the topic exists (asking for it lets a broker with auto.create.topics.enable
 * create it, as Kafka's console producer does) and returns its partition count.
 */
export async function requireTopic (producer: Producer, topic: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const metadata = await producer.cluster.refreshMetadata({ topics: [topic] })
    const info = metadata.topics.get(topic)
    const code = info?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    if (code === 0 && info !== undefined && info.partitions.length > 0) return info.partitions.length
    // A topic being auto-created has no leader for a moment.
    if ((code === ErrorCode.LEADER_NOT_AVAILABLE || code === 0) && attempt < 50) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      continue
    }
    if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new CliError(`topic '${topic}' does not exist (create it with: samsa topic create ${topic})`)
    throw new KafkaResponseError(code, null, { api: 'Metadata', topic })
  }
}

