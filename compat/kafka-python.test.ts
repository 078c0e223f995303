/**
 * kafka-python 2.0.2 (Debian python3-kafka, /usr/bin/python3) against `samsa start`, through
 * compat/python/kafka_python_client.py. kafka-python does not negotiate per API: it guesses
 * the broker version from ApiVersions v0 (here 2.4, from Produce v8) and then uses fixed
 * versions (Metadata v0/v1, Produce v7, Fetch v4, ListOffsets v1; admin CreateTopics v3,
 * DeleteTopics v3, DescribeConfigs v2, AlterConfigs v1). Codecs: gzip built in; snappy
 * (xerial-framed), lz4 and zstd from python3-snappy, python3-lz4 and python3-zstandard.
 * Consuming uses assign(), no group.
 */
import { pythonClientSuite } from './python-suite.ts'

pythonClientSuite({
  name: 'kafka-python',
  script: 'kafka_python_client.py',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  // max_request_size (1048576) would reject the 1 MiB record locally.
  largeProduceOptions: { maxRequestSize: 5_000_000 },
  errorNames: { 3: 'UNKNOWN_TOPIC_OR_PARTITION', 10: 'MESSAGE_SIZE_TOO_LARGE', 36: 'TOPIC_ALREADY_EXISTS', 37: 'INVALID_PARTITIONS', 40: 'INVALID_CONFIG' },
  producerFields: [-1n, -1, -1],
  nullHeaderValues: false,
  offsetForTimeNotFound: null,
  describeConfigsHasSource: true,
  createTimeType: 0
})
