"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) driven by compat/confluent-kafka-python.test.ts.

Usage: confluent_kafka_client.py <bootstrap> <scenario> [<json args>]

Prints one JSON document on stdout. Kafka errors are reported in the document as
{"code": <librdkafka error code>, "name": <its name>, "str": <its text>}; anything else is a
crash (non-zero exit, traceback on stderr).
"""
import hashlib
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import libversion, version
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

CLIENT_ID = 'samsa-compat-confluent-kafka'
TIMEOUT = 15


def error_of(err):
    if isinstance(err, KafkaException):
        err = err.args[0]
    return {'code': err.code(), 'name': err.name(), 'str': err.str()}


def value_of(value):
    if value is None:
        return {'value': None, 'valueLength': None, 'valueSha256': None}
    return {
        'value': value.decode('utf-8', 'replace') if len(value) <= 2000 else None,
        'valueLength': len(value),
        'valueSha256': hashlib.sha256(value).hexdigest(),
    }


def bytes_of(spec, name):
    v = spec.get(name)
    if v is None:
        return None
    if isinstance(v, dict):
        return v.get('fill', 'x').encode() * v['size']
    return v.encode()


def admin(bootstrap):
    return AdminClient({'bootstrap.servers': bootstrap, 'client.id': CLIENT_ID})


def metadata(bootstrap, args):
    a = admin(bootstrap)
    md = a.list_topics(topic=args.get('topic'), timeout=TIMEOUT)
    return {
        'versions': {'client': version()[0], 'librdkafka': libversion()[0]},
        'brokers': sorted(({'id': b.id, 'host': b.host, 'port': b.port} for b in md.brokers.values()), key=lambda b: b['id']),
        'controller': md.controller_id,
        'clusterId': md.cluster_id,
        'topics': {name: {
            'error': error_of(t.error) if t.error is not None else None,
            'partitions': sorted(({'id': p.id, 'leader': p.leader, 'replicas': p.replicas, 'isr': p.isrs} for p in t.partitions.values()), key=lambda p: p['id']),
        } for name, t in md.topics.items()},
    }


def wait_all(futures):
    out = {}
    for key, f in futures.items():
        try:
            f.result(timeout=TIMEOUT)
            out[key] = None
        except KafkaException as e:
            out[key] = error_of(e)
    return out


def create_topics(bootstrap, args):
    new = [NewTopic(t['name'], num_partitions=t.get('partitions', 1), replication_factor=t.get('replicationFactor', 1), config=t.get('configs', {})) for t in args['topics']]
    a = admin(bootstrap)  # the futures fail with _DESTROY if the client is collected first
    return {'errors': wait_all(a.create_topics(new, operation_timeout=10, validate_only=args.get('validateOnly', False)))}


def delete_topics(bootstrap, args):
    a = admin(bootstrap)
    return {'errors': wait_all(a.delete_topics(args['topics'], operation_timeout=10))}


def describe_configs(bootstrap, args):
    resource = ConfigResource(args['type'], args['name'])
    a = admin(bootstrap)
    futures = a.describe_configs([resource])
    try:
        entries = futures[resource].result(timeout=TIMEOUT)
    except KafkaException as e:
        return {'error': error_of(e)}
    keys = args.get('keys')
    return {'error': None, 'configs': {name: {
        'value': e.value,
        'source': e.source,
        'readOnly': e.is_read_only,
        'isDefault': e.is_default,
        'isSensitive': e.is_sensitive,
        'synonyms': [[s.name, s.value, s.source] for s in e.synonyms.values()],
    } for name, e in entries.items() if not keys or name in keys}}


def alter_configs(bootstrap, args):
    resource = ConfigResource(args['type'], args['name'], set_config=args['configs'])
    a = admin(bootstrap)
    futures = a.alter_configs([resource], validate_only=args.get('validateOnly', False))
    return {'errors': [wait_all({'r': futures[resource]})['r']]}


def produce(bootstrap, args):
    conf = {
        'bootstrap.servers': bootstrap,
        'client.id': CLIENT_ID,
        'acks': args.get('acks', 'all'),
        'compression.type': args.get('compression', 'none'),
        'linger.ms': args.get('lingerMs', 5),
        'message.send.max.retries': 0,
    }
    if 'messageMaxBytes' in args:
        conf['message.max.bytes'] = args['messageMaxBytes']
    p = Producer(conf)
    results = [None] * len(args['records'])

    def delivered(index):
        def callback(err, msg):
            if err is not None:
                results[index] = {'error': error_of(err)}
            else:
                results[index] = {'partition': msg.partition(), 'offset': msg.offset(), 'timestamp': msg.timestamp()[1]}
        return callback

    for i, r in enumerate(args['records']):
        kwargs = {'key': bytes_of(r, 'key'), 'value': bytes_of(r, 'value'), 'on_delivery': delivered(i)}
        if r.get('headers'):
            kwargs['headers'] = [(k, v.encode() if v is not None else None) for (k, v) in r['headers']]
        if r.get('partition') is not None:
            kwargs['partition'] = r['partition']
        if r.get('timestamp') is not None:
            kwargs['timestamp'] = r['timestamp']
        try:
            p.produce(args['topic'], **kwargs)
        except KafkaException as e:
            results[i] = {'error': error_of(e), 'local': True}
        p.poll(0)
    remaining = p.flush(30)
    return {'results': results, 'undelivered': remaining}


def new_consumer(bootstrap):
    # group.id is mandatory for a confluent-kafka Consumer even with assign(); nothing is
    # committed and no group is joined.
    return Consumer({
        'bootstrap.servers': bootstrap,
        'client.id': CLIENT_ID,
        'group.id': 'samsa-compat-unused',
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'fetch.max.bytes': 64 * 1024 * 1024,
        'receive.message.max.bytes': 100 * 1024 * 1024,
    })


def partitions_of(c, topic):
    md = c.list_topics(topic=topic, timeout=TIMEOUT)
    return sorted(md.topics[topic].partitions.keys())


def consume(bootstrap, args):
    """Reads every partition of the topic with assign() (no group) up to its end offset."""
    c = new_consumer(bootstrap)
    try:
        topic = args['topic']
        partitions = partitions_of(c, topic)
        end = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)[1] for p in partitions}
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending = {p for p in partitions if end[p] > 0}
        records = []
        deadline = time.time() + args.get('timeoutS', 20)
        while pending:
            if time.time() > deadline:
                raise TimeoutError(f'partitions {sorted(pending)} did not reach {end}')
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= end[m.partition()]:
                        pending.discard(m.partition())
                    continue
                raise KafkaException(m.error())
            ts_type, ts = m.timestamp()
            records.append({
                'partition': m.partition(),
                'offset': m.offset(),
                'timestamp': ts,
                'timestampType': ts_type,
                'key': m.key().decode() if m.key() is not None else None,
                'headers': [[k, v.decode() if v is not None else None] for (k, v) in (m.headers() or [])],
                **value_of(m.value()),
            })
            if m.offset() + 1 >= end[m.partition()]:
                pending.discard(m.partition())
        records.sort(key=lambda r: (r['partition'], r['offset']))
        return {'records': records, 'endOffsets': {str(p): o for p, o in end.items()}}
    finally:
        c.close()


def offsets(bootstrap, args):
    """ListOffsets: watermarks, and offsets_for_times for each requested timestamp."""
    c = new_consumer(bootstrap)
    try:
        topic = args['topic']
        partitions = partitions_of(c, topic)
        marks = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT) for p in partitions}
        out = {'beginning': {str(p): m[0] for p, m in marks.items()}, 'end': {str(p): m[1] for p, m in marks.items()}, 'byTime': {}}
        for ts in args.get('timestamps', []):
            found = c.offsets_for_times([TopicPartition(topic, p, ts) for p in partitions], timeout=TIMEOUT)
            out['byTime'][str(ts)] = {str(tp.partition): tp.offset for tp in found}
        return out
    finally:
        c.close()


def group_consume(bootstrap, args):
    """Subscribes with a consumer group, reads `count` records, commits them and leaves."""
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'client.id': CLIENT_ID,
        'group.id': args['groupId'],
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': 10000,
        'heartbeat.interval.ms': 500,
    })
    try:
        c.subscribe([args['topic']])
        records = []
        deadline = time.time() + args.get('timeoutS', 30)
        while len(records) < args['count']:
            if time.time() > deadline:
                raise TimeoutError(f'read {len(records)} of {args["count"]} records')
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                raise KafkaException(m.error())
            records.append({'partition': m.partition(), 'offset': m.offset(), 'key': m.key().decode() if m.key() is not None else None, **value_of(m.value())})
        c.commit(asynchronous=False)
        partitions = [TopicPartition(args['topic'], p) for p in partitions_of(c, args['topic'])]
        committed = {str(tp.partition): tp.offset for tp in c.committed(partitions, timeout=TIMEOUT)}
        return {'records': records, 'committed': committed}
    finally:
        c.close()


SCENARIOS = {
    'metadata': metadata,
    'create-topics': create_topics,
    'delete-topics': delete_topics,
    'describe-configs': describe_configs,
    'alter-configs': alter_configs,
    'produce': produce,
    'consume': consume,
    'offsets': offsets,
    'group-consume': group_consume,
}


def main():
    bootstrap, scenario = sys.argv[1], sys.argv[2]
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    print(json.dumps(SCENARIOS[scenario](bootstrap, args)))


if __name__ == '__main__':
    main()
