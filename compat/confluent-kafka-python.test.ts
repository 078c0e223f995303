/**
 * confluent-kafka-python 1.7.0 on librdkafka 2.0.2 (Debian python3-confluent-kafka,
 * /usr/bin/python3) against `samsa start`, through compat/python/confluent_kafka_client.py.
 * librdkafka negotiates per API (Metadata v4, Produce v7, Fetch v11, ListOffsets v2,
 * CreateTopics v4, DeleteTopics v1, DescribeConfigs v1, AlterConfigs v0); 1.7.0 has no
 * incremental_alter_configs. Its LZ4 needs FindCoordinator v0 advertised. A Consumer needs a
 * group.id even for assign(), but no group is joined.
 */
import { pythonClientSuite } from './python-suite.ts'

pythonClientSuite({
  name: 'confluent-kafka',
  script: 'confluent_kafka_client.py',
  codecs: ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  codecNeedingFindCoordinator: 'lz4',
  // librdkafka's message.max.bytes (1000000) would reject the 1 MiB record locally.
  largeProduceOptions: { messageMaxBytes: 5_000_000 },
  errorNames: { 3: 'UNKNOWN_TOPIC_OR_PART', 10: 'MSG_SIZE_TOO_LARGE', 36: 'TOPIC_ALREADY_EXISTS', 37: 'INVALID_PARTITIONS', 40: 'INVALID_CONFIG' },
  producerFields: [-1n, -1, -1],
  nullHeaderValues: true,
  offsetForTimeNotFound: -1,
  describeConfigsHasSource: true,
  createTimeType: 1
})
