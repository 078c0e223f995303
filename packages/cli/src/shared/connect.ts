/**
 * Clients for commands. A command must fail fast when the cluster is down, so retries are
 * capped (three, backing off from 100 ms) and the first metadata request is a probe whose
 * network failure becomes "cannot reach the cluster at <bootstrap> (<reason>)".
 */
import {
  type Admin, type Cluster, type ClusterOptions, KafkaNetworkError, KafkaTimeoutError, createAdmin
} from '@samsa/client'
import { UnreachableError, networkReason } from './errors.ts'

/** Client options for the CLI: a client id, short connect timeouts and capped retries. */
export function cliClientOptions (bootstrap: string): ClusterOptions {
  return {
    bootstrapServers: bootstrap,
    clientId: 'samsa-cli',
    maxRetries: 3,
    retryBackoffMs: 100,
    retryBackoffMaxMs: 1000,
    connectTimeoutMs: 5000,
    reconnectBackoffMs: 50,
    reconnectBackoffMaxMs: 500
  }
}

/** Fetches metadata once; a network failure becomes an UnreachableError. */
export async function probe (cluster: Cluster, bootstrap: string): Promise<void> {
  try {
    await cluster.refreshMetadata({ topics: [] })
  } catch (error) {
    if (error instanceof KafkaNetworkError || error instanceof KafkaTimeoutError) throw new UnreachableError(bootstrap, networkReason(error), { cause: error })
    throw error
  }
}

/** Runs `fn` with a connected admin client, closed afterwards. */
export async function withAdmin<T> (bootstrap: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createAdmin(cliClientOptions(bootstrap))
  try {
    await probe(admin.cluster, bootstrap)
    return await fn(admin)
  } finally {
    await admin.close()
  }
}
