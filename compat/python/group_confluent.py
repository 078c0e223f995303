"""confluent-kafka-python (librdkafka) consumer groups, driven by
packages/broker/test/group/python-clients.test.ts.

Usage: group_confluent.py <bootstrap> <topic> <group> <strategy>

Two consumers with `partition.assignment.strategy` = <strategy> (range, roundrobin or
cooperative-sticky) join one group on <topic> (4 partitions, already holding records), split the
partitions, consume and commit everything, then one leaves and the other takes over. Prints one
JSON document: the assignment each consumer ended up with at each step, what they consumed, what
was committed, and the rebalance callbacks seen (incremental for cooperative-sticky).
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

bootstrap, topic, group, strategy = sys.argv[1:5]


def consumer(name, events):
    def on_assign(c, parts):
        events.append({'consumer': name, 'event': 'assign', 'partitions': sorted(p.partition for p in parts)})

    def on_revoke(c, parts):
        events.append({'consumer': name, 'event': 'revoke', 'partitions': sorted(p.partition for p in parts)})

    c = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'client.id': f'samsa-group-{name}',
        'partition.assignment.strategy': strategy,
        'session.timeout.ms': 6000,
        'heartbeat.interval.ms': 300,
        'auto.offset.reset': 'earliest',
        'enable.auto.commit': False,
        'fetch.wait.max.ms': 100,
    })
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    return c


def owned(c):
    return sorted(p.partition for p in c.assignment())


def main():
    events = []
    seen = {}
    commit_errors = []
    consumers = {'a': consumer('a', events)}

    def poll_all(seconds, until, commit=True):
        deadline = time.time() + seconds
        while time.time() < deadline:
            for name, c in consumers.items():
                m = c.poll(0.05)
                if m is not None and m.error() is None:
                    seen.setdefault(name, []).append([m.partition(), m.offset()])
                    if not commit:
                        continue
                    try:
                        c.commit(message=m, asynchronous=False)
                    except KafkaException as e:
                        # A commit racing a rebalance (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS)
                        # fails as on Kafka; the positions are committed again below.
                        commit_errors.append(e.args[0].name())
            if until():
                return True
        return False

    # No commits while the group rebalances: a commit sent while the member's JoinGroup is in
    # flight fails with ILLEGAL_GENERATION (on Kafka too), and librdkafka then treats its
    # assignment as lost and revokes everything, which would hide the incremental rebalance.
    ok_first = poll_all(20, lambda: owned(consumers['a']) == [0, 1, 2, 3], commit=False)
    consumers['b'] = consumer('b', events)
    ok_split = poll_all(30, lambda: len(owned(consumers['a'])) == 2 and len(owned(consumers['b'])) == 2, commit=False)
    split = {'a': owned(consumers['a']), 'b': owned(consumers['b'])}
    total = lambda: len({(p, o) for v in seen.values() for p, o in v})
    ok_all = poll_all(30, lambda: total() >= 40)

    def all_committed():
        # Commit every consumer's positions (again), then check that everything is committed.
        for c in consumers.values():
            try:
                positions = [tp for tp in c.position(c.assignment()) if tp.offset >= 0]
                if positions:
                    c.commit(offsets=positions, asynchronous=False)
            except KafkaException as e:
                commit_errors.append(e.args[0].name())
        offsets = consumers['a'].committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
        return all(tp.offset == 10 for tp in offsets)

    ok_committed = poll_all(30, all_committed)
    committed = consumers['a'].committed([TopicPartition(topic, p) for p in range(4)], timeout=10)
    consumers['b'].close()
    del consumers['b']
    ok_takeover = poll_all(30, lambda: owned(consumers['a']) == [0, 1, 2, 3])
    takeover = owned(consumers['a'])
    consumers['a'].close()
    print(json.dumps({
        'ok': {'first': ok_first, 'split': ok_split, 'all': ok_all, 'committed': ok_committed, 'takeover': ok_takeover},
        'split': split,
        'takeover': takeover,
        'consumed': total(),
        'committed': [tp.offset for tp in committed],
        'events': events,
        'commitErrors': commit_errors,
    }))


main()
