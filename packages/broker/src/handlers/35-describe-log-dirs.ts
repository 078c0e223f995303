/**
 * DescribeLogDirs (key 35), versions 0-4: the data directory with the size of each hosted
 * partition's log (all, or the requested ones), and from v4 its total and usable bytes.
 */
import { statfsSync } from 'node:fs'
import { resolve } from 'node:path'
import { DescribeLogDirsApi, ErrorCode } from '@samsa/protocol'
import type { DescribeLogDirsResponse, DescribeLogDirsTopic } from '@samsa/protocol/messages/describe-log-dirs'
import { defineHandler } from './handler.ts'

export const describeLogDirsHandler = defineHandler(DescribeLogDirsApi, [0, 4], (ctx, req) => {
  const broker = ctx.broker
  const wanted = req.topics === null ? null : new Map(req.topics.map((t) => [t.topic, new Set(t.partitions)]))
  const topics: DescribeLogDirsTopic[] = []
  for (const topic of broker.topics.list()) {
    const partitions = wanted === null ? null : wanted.get(topic.name)
    if (wanted !== null && partitions === undefined) continue
    const selected = topic.partitions.filter((p) => partitions == null || partitions.has(p.index))
    if (selected.length === 0) continue
    topics.push({
      name: topic.name,
      partitions: selected.map((p) => ({ partitionIndex: p.index, partitionSize: BigInt(p.log.size), offsetLag: 0n, isFutureKey: false }))
    })
  }
  let totalBytes = -1n
  let usableBytes = -1n
  try {
    const stats = statfsSync(broker.settings.dataDir)
    totalBytes = BigInt(stats.blocks) * BigInt(stats.bsize)
    usableBytes = BigInt(stats.bavail) * BigInt(stats.bsize)
  } catch {
    // An in-memory store has no file system to measure.
  }
  const response: DescribeLogDirsResponse = {
    ...DescribeLogDirsApi.response.create(),
    results: [{ errorCode: ErrorCode.NONE, logDir: resolve(broker.settings.dataDir), topics, totalBytes, usableBytes }]
  }
  return response
})
