"""kafka-python 2.0.2 consumer groups, driven by packages/broker/test/group/python-clients.test.ts.

Usage: group_kafka_python.py <bootstrap> <topic> <group>

Two KafkaConsumers (JoinGroup v2, SyncGroup/Heartbeat/LeaveGroup v1, OffsetCommit v2,
OffsetFetch v1, FindCoordinator v0), each in its own thread (kafka-python joins inside poll()),
split a 4-partition topic, consume and commit everything; one closes (LeaveGroup) and the other
takes over; a third consumer then resumes from the commits. Prints one JSON document.
"""
import json
import sys
import threading
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

bootstrap, topic, group = sys.argv[1:4]


class Member(threading.Thread):
    def __init__(self, name):
        super().__init__(daemon=True)
        self.name_ = name
        self.seen = []
        self.stop = threading.Event()
        self.commit_errors = []
        self.lock = threading.Lock()
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            client_id=f'samsa-group-{name}',
            auto_offset_reset='earliest',
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=300,
            fetch_max_wait_ms=100,
        )

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                batch = self.consumer.poll(timeout_ms=100)
                for tp, records in batch.items():
                    for r in records:
                        self.seen.append([tp.partition, r.offset])
                if batch:
                    try:
                        self.consumer.commit()
                    except KafkaError as e:
                        # A commit racing a rebalance fails as on Kafka; the next one covers it.
                        self.commit_errors.append(type(e).__name__)

    def owned(self):
        return sorted(tp.partition for tp in self.consumer.assignment())

    def close(self):
        self.stop.set()
        self.join(10)
        self.consumer.close()


def wait(seconds, until):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if until():
            return True
        time.sleep(0.05)
    return False


def main():
    a = Member('a')
    a.start()
    ok_first = wait(20, lambda: a.owned() == [0, 1, 2, 3])
    b = Member('b')
    b.start()
    ok_split = wait(30, lambda: len(a.owned()) == 2 and len(b.owned()) == 2)
    split = {'a': a.owned(), 'b': b.owned()}
    total = lambda: len({(p, o) for p, o in a.seen + b.seen})
    ok_all = wait(30, lambda: total() >= 40)
    time.sleep(0.5)
    b.close()
    ok_takeover = wait(30, lambda: a.owned() == [0, 1, 2, 3])
    with a.lock:
        committed = [a.consumer.committed(TopicPartition(topic, p)) for p in range(4)]
    a.close()
    # A new member resumes from the commits: nothing left to read.
    c = Member('c')
    c.start()
    ok_resume = wait(30, lambda: c.owned() == [0, 1, 2, 3])
    time.sleep(1)
    resumed = len(c.seen)
    c.close()
    print(json.dumps({
        'ok': {'first': ok_first, 'split': ok_split, 'all': ok_all, 'takeover': ok_takeover, 'resume': ok_resume},
        'split': split,
        'consumed': total(),
        'committed': committed,
        'resumed': resumed,
    }))


main()
