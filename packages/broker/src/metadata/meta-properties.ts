/**
 * `<data>/meta.properties`, Kafka's identity file for a log directory (MetaProperties.java):
 *
 *     #
 *     #<date>
 *     version=1
 *     cluster.id=<22-character base64url UUID>
 *     node.id=1
 *
 * Created on first start; afterwards the cluster id is read from it, and a node id that does
 * not match the configured one is refused (pointing a broker at another broker's data).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { FileSystem } from '@samsa/storage'

export const META_PROPERTIES = 'meta.properties'

export interface MetaProperties {
  clusterId: string
  nodeId: number
}

/** A random cluster id in Kafka's form (Uuid.randomUuid().toString()). */
export function randomClusterId (): string {
  return randomBytes(16).toString('base64url')
}

export async function loadOrCreateMetaProperties (fs: FileSystem, dataDir: string, nodeId: number, clusterId?: string): Promise<MetaProperties> {
  const path = join(dataDir, META_PROPERTIES)
  if (fs.exists(path)) {
    const values = new Map<string, string>()
    for (const line of fs.readFile(path).toString('utf8').split('\n')) {
      const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim())
      if (m !== null) values.set(m[1]!.trim(), m[2]!.trim())
    }
    const storedCluster = values.get('cluster.id')
    const storedNode = Number(values.get('node.id') ?? values.get('broker.id'))
    if (storedCluster === undefined || !Number.isInteger(storedNode)) throw new Error(`Invalid ${path}: missing cluster.id or node.id`)
    if (storedNode !== nodeId) {
      throw new Error(`The data directory '${dataDir}' belongs to node ${storedNode}, but this broker is node.id=${nodeId}`)
    }
    if (clusterId !== undefined && clusterId !== storedCluster) {
      throw new Error(`The data directory '${dataDir}' belongs to cluster ${storedCluster}, not ${clusterId}`)
    }
    return { clusterId: storedCluster, nodeId }
  }
  const meta = { clusterId: clusterId ?? randomClusterId(), nodeId }
  const text = `#\n#${new Date().toString()}\nversion=1\ncluster.id=${meta.clusterId}\nnode.id=${nodeId}\n`
  await fs.writeFileAtomic(path, Buffer.from(text))
  return meta
}
