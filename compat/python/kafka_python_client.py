"""kafka-python 2.0.2 driven by compat/kafka-python.test.ts.

Usage: kafka_python_client.py <bootstrap> <scenario> [<json args>]

Prints one JSON document on stdout. Kafka errors are reported in the document as
{"code": <Kafka error code>, "name": <kafka-python's error name>, "class": ...}; anything else
is a crash (non-zero exit, traceback on stderr).
"""
import hashlib
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, for_code

CLIENT_ID = 'samsa-compat-kafka-python'


def error_of(exc):
    """A Kafka error (exception instance or class) as JSON."""
    return {'code': getattr(exc, 'errno', None), 'name': getattr(exc, 'message', None), 'class': type(exc).__name__ if isinstance(exc, Exception) else exc.__name__}


def code_error(code):
    return None if code == 0 else error_of(for_code(code))


def value_of(value):
    """Record bytes as JSON: the text for short values, length and SHA-256 always."""
    if value is None:
        return {'value': None, 'valueLength': None, 'valueSha256': None}
    return {
        'value': value.decode('utf-8', 'replace') if len(value) <= 2000 else None,
        'valueLength': len(value),
        'valueSha256': hashlib.sha256(value).hexdigest(),
    }


def bytes_of(spec, name):
    """A key/value from the test: a string, null, or {"size": n, "fill": "x"}."""
    v = spec.get(name)
    if v is None:
        return None
    if isinstance(v, dict):
        return v.get('fill', 'x').encode() * v['size']
    return v.encode()


def admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id=CLIENT_ID, request_timeout_ms=10000)


def metadata(bootstrap, args):
    a = admin(bootstrap)
    try:
        cluster = a.describe_cluster()
        topics = a.describe_topics(args.get('topics')) if args.get('topics') else []
        listed = a.list_topics()
    finally:
        a.close()
    return {
        'brokers': [{'id': b['node_id'], 'host': b['host'], 'port': b['port']} for b in cluster['brokers']],
        'controller': cluster['controller_id'],
        'clusterId': cluster['cluster_id'],
        'listed': sorted(listed),
        'topics': {t['topic']: {
            'error': code_error(t['error_code']),
            'partitions': sorted(({'id': p['partition'], 'leader': p['leader'], 'replicas': p['replicas'], 'isr': p['isr']} for p in t['partitions']), key=lambda p: p['id']),
        } for t in topics},
    }


def consumer_metadata(bootstrap, args):
    c = KafkaConsumer(bootstrap_servers=bootstrap, client_id=CLIENT_ID)
    try:
        return {'partitions': sorted(c.partitions_for_topic(args['topic']) or []), 'topics': sorted(c.topics())}
    finally:
        c.close()


def create_topics(bootstrap, args):
    """One CreateTopics request per topic: kafka-python raises for the whole request on any error."""
    a = admin(bootstrap)
    errors = {}
    try:
        for t in args['topics']:
            try:
                a.create_topics([NewTopic(t['name'], t.get('partitions', 1), t.get('replicationFactor', 1), topic_configs=t.get('configs', {}))], validate_only=args.get('validateOnly', False))
                errors[t['name']] = None
            except KafkaError as e:
                errors[t['name']] = error_of(e)
    finally:
        a.close()
    return {'errors': errors}


def delete_topics(bootstrap, args):
    a = admin(bootstrap)
    errors = {}
    try:
        for name in args['topics']:
            try:
                a.delete_topics([name])
                errors[name] = None
            except KafkaError as e:
                errors[name] = error_of(e)
    finally:
        a.close()
    return {'errors': errors}


RESOURCE_TYPES = {'topic': ConfigResourceType.TOPIC, 'broker': ConfigResourceType.BROKER}


def describe_configs(bootstrap, args):
    a = admin(bootstrap)
    try:
        keys = args.get('keys')
        resource = ConfigResource(RESOURCE_TYPES[args['type']], args['name'], {k: None for k in keys} if keys else None)
        res = a.describe_configs([resource], include_synonyms=args.get('synonyms', False))
    finally:
        a.close()
    out = {}
    for response in res:
        for (code, message, _rtype, _rname, entries) in response.resources:
            if code != 0:
                return {'version': response.API_VERSION, 'error': code_error(code), 'message': message}
            for e in entries:
                name, value, read_only = e[0], e[1], e[2]
                entry = {'value': value, 'readOnly': read_only}
                if response.API_VERSION == 0:
                    entry['isDefault'] = e[3]
                else:
                    entry['source'] = e[3]
                    entry['synonyms'] = [[s[0], s[1], s[2]] for s in e[5]]
                out[name] = entry
        return {'version': response.API_VERSION, 'error': None, 'configs': out}


def alter_configs(bootstrap, args):
    a = admin(bootstrap)
    try:
        res = a.alter_configs([ConfigResource(RESOURCE_TYPES[args['type']], args['name'], configs=args['configs'])])
    finally:
        a.close()
    return {'version': res.API_VERSION, 'errors': [{'error': code_error(code), 'message': message} for (code, message, *_rest) in res.resources]}


def produce(bootstrap, args):
    options = {
        'bootstrap_servers': bootstrap,
        'client_id': CLIENT_ID,
        'acks': args.get('acks', 'all'),
        'compression_type': None if args.get('compression') in (None, 'none') else args['compression'],
        'linger_ms': args.get('lingerMs', 5),
        'retries': 0,
    }
    if 'maxRequestSize' in args:
        options['max_request_size'] = args['maxRequestSize']
    p = KafkaProducer(**options)
    futures = []
    for r in args['records']:
        headers = [(k, v.encode() if v is not None else None) for (k, v) in r.get('headers', [])]
        futures.append(p.send(args['topic'], key=bytes_of(r, 'key'), value=bytes_of(r, 'value'), headers=headers, partition=r.get('partition'), timestamp_ms=r.get('timestamp')))
    p.flush()
    results = []
    for f in futures:
        try:
            m = f.get(timeout=30)
            results.append({'partition': m.partition, 'offset': m.offset, 'timestamp': m.timestamp})
        except KafkaError as e:
            results.append({'error': error_of(e), 'message': str(e)})
    p.close()
    return {'results': results}


def new_consumer(bootstrap, args):
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=args.get('maxPartitionFetchBytes', 1048576),
    )


def consume(bootstrap, args):
    """Reads every partition of the topic with assign() (no group) up to its end offset."""
    c = new_consumer(bootstrap, args)
    try:
        partitions = [TopicPartition(args['topic'], p) for p in sorted(c.partitions_for_topic(args['topic']) or [])]
        c.assign(partitions)
        c.seek_to_beginning()
        end = c.end_offsets(partitions)
        records = []
        deadline = time.time() + args.get('timeoutS', 20)
        while any(c.position(tp) < end[tp] for tp in partitions):
            if time.time() > deadline:
                raise TimeoutError(f'positions {[c.position(tp) for tp in partitions]} never reached {[end[tp] for tp in partitions]}')
            for tp, msgs in c.poll(timeout_ms=500).items():
                for m in msgs:
                    records.append({
                        'partition': m.partition,
                        'offset': m.offset,
                        'timestamp': m.timestamp,
                        'timestampType': m.timestamp_type,
                        'key': m.key.decode() if m.key is not None else None,
                        'headers': [[k, v.decode() if v is not None else None] for (k, v) in m.headers],
                        **value_of(m.value),
                    })
        records.sort(key=lambda r: (r['partition'], r['offset']))
        return {'records': records, 'endOffsets': {str(tp.partition): o for tp, o in end.items()}}
    finally:
        c.close()


def offsets(bootstrap, args):
    """ListOffsets: beginning, end, and for each requested timestamp."""
    c = new_consumer(bootstrap, args)
    try:
        partitions = [TopicPartition(args['topic'], p) for p in sorted(c.partitions_for_topic(args['topic']) or [])]
        out = {
            'beginning': {str(tp.partition): o for tp, o in c.beginning_offsets(partitions).items()},
            'end': {str(tp.partition): o for tp, o in c.end_offsets(partitions).items()},
            'byTime': {},
        }
        for ts in args.get('timestamps', []):
            found = c.offsets_for_times({tp: ts for tp in partitions})
            out['byTime'][str(ts)] = {str(tp.partition): (None if o is None else [o.offset, o.timestamp]) for tp, o in found.items()}
        return out
    finally:
        c.close()


def group_consume(bootstrap, args):
    """Subscribes with a consumer group, reads `count` records, commits them and leaves."""
    c = KafkaConsumer(
        args['topic'],
        bootstrap_servers=bootstrap,
        client_id=CLIENT_ID,
        group_id=args['groupId'],
        enable_auto_commit=False,
        auto_offset_reset='earliest',
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
    )
    try:
        records = []
        deadline = time.time() + args.get('timeoutS', 30)
        while len(records) < args['count']:
            if time.time() > deadline:
                raise TimeoutError(f'read {len(records)} of {args["count"]} records')
            for tp, msgs in c.poll(timeout_ms=500).items():
                for m in msgs:
                    records.append({'partition': m.partition, 'offset': m.offset, 'key': m.key.decode() if m.key is not None else None, **value_of(m.value)})
        c.commit()
        partitions = [TopicPartition(args['topic'], p) for p in sorted(c.partitions_for_topic(args['topic']) or [])]
        committed = {str(tp.partition): c.committed(tp) for tp in partitions}
        return {'records': records, 'committed': committed}
    finally:
        c.close()


SCENARIOS = {
    'metadata': metadata,
    'consumer-metadata': consumer_metadata,
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
