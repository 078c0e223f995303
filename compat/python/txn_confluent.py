"""confluent-kafka-python (librdkafka) transactions, driven by
packages/broker/test/txn/python-clients.test.ts.

Usage: txn_confluent.py <bootstrap> <topic> <input-topic> <output-topic>

1. A transactional producer commits 10 records to <topic>, aborts 10, commits 5 more.
2. A consume-transform-produce loop: a read_committed consumer of <input-topic> (group
   `py-ctp`), each batch transformed into <output-topic> inside a transaction with
   send_offsets_to_transaction (TxnOffsetCommit v3 with the consumer's group metadata); the
   second batch is aborted once and redone.
3. Consumers with isolation.level read_committed and read_uncommitted read <topic> and
   <output-topic> from the beginning to the end.

Prints one JSON document with what each consumer saw and the group's committed offsets.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, topic, input_topic, output_topic = sys.argv[1:5]


def producer(txn_id):
    p = Producer({
        'bootstrap.servers': bootstrap,
        'transactional.id': txn_id,
        'client.id': f'samsa-{txn_id}',
        'linger.ms': 5,
    })
    p.init_transactions(20)
    return p


def transactional_writes():
    p = producer('py-txn')
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, key=f'k{i % 3}', value=f'c{i}')
    p.commit_transaction(20)
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, key=f'k{i % 3}', value=f'a{i}')
    p.flush(20)
    p.abort_transaction(20)
    p.begin_transaction()
    for i in range(10, 15):
        p.produce(topic, key=f'k{i % 3}', value=f'c{i}')
    p.commit_transaction(20)


def consume_transform_produce(expected):
    p = producer('py-ctp-app')
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'py-ctp',
        'client.id': 'samsa-py-ctp',
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': False,
        'isolation.level': 'read_committed',
        'fetch.wait.max.ms': 50,
        'session.timeout.ms': 6000,
    })
    c.subscribe([input_topic])
    done = 0
    batches = 0
    aborted = 0
    deadline = time.time() + 40
    while done < expected and time.time() < deadline:
        msgs = c.consume(num_messages=7, timeout=0.5)
        msgs = [m for m in msgs if m.error() is None]
        if not msgs:
            continue
        batches += 1
        p.begin_transaction()
        for m in msgs:
            p.produce(output_topic, key=m.key(), value=b'out-' + m.value())
        if batches == 2 and aborted == 0:
            p.produce(output_topic, key=b'poison', value=b'aborted')
            p.flush(20)
            p.abort_transaction(20)
            aborted = len(msgs) + 1
            # Rewind to the committed offsets and redo the batch.
            for tp in c.committed(c.assignment(), timeout=10):
                c.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))
            continue
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 20)
        p.commit_transaction(20)
        done += len(msgs)
    c.close()
    return done, aborted


def read_all(t, isolation):
    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': f'py-reader-{t}-{isolation}',
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': False,
        'isolation.level': isolation,
        'enable.partition.eof': True,
        'fetch.wait.max.ms': 50,
    })
    metadata = c.list_topics(t, timeout=10)
    partitions = [TopicPartition(t, p, 0) for p in metadata.topics[t].partitions]
    c.assign(partitions)
    eof = set()
    out = []
    deadline = time.time() + 20
    while len(eof) < len(partitions) and time.time() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error() is not None:
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
                continue
            raise KafkaException(m.error())
        out.append(m.value().decode())
    c.close()
    return sorted(out)


def committed_offsets():
    c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'py-ctp', 'enable.auto.commit': False})
    metadata = c.list_topics(input_topic, timeout=10)
    tps = [TopicPartition(input_topic, p) for p in metadata.topics[input_topic].partitions]
    result = {str(tp.partition): tp.offset for tp in c.committed(tps, timeout=10)}
    c.close()
    return result


def main():
    seed = Producer({'bootstrap.servers': bootstrap, 'enable.idempotence': True})
    for i in range(40):
        seed.produce(input_topic, partition=i % 2, key=f'k{i % 4}', value=str(i))
    seed.flush(20)
    transactional_writes()
    done, aborted = consume_transform_produce(40)
    print(json.dumps({
        'committed': read_all(topic, 'read_committed'),
        'uncommitted': read_all(topic, 'read_uncommitted'),
        'outCommitted': read_all(output_topic, 'read_committed'),
        'outUncommitted': read_all(output_topic, 'read_uncommitted'),
        'processed': done,
        'aborted': aborted,
        'offsets': committed_offsets(),
    }))


main()
