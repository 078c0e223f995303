"""A continuous librdkafka producer (confluent-kafka-python 1.7.0, librdkafka 2.0.2) for
compat/cluster-chaos.test.ts.

Usage: chaos_confluent.py <bootstrap> <topic> <partitions, comma-separated> <rate per partition per second> <json extra config>

Produces '<prefix>-p<partition>-<seq>' to every partition in turn (seq counts per partition)
with acks=all until its stdin closes, then flushes and exits. Prints one JSON line per event:
  {"t": "ack", "p": partition, "o": offset, "v": value, "sent": ms, "acked": ms}
  {"t": "fail", "p": partition, "v": value, "err": text, "sent": ms, "acked": ms}
  {"t": "error", "err": text, "fatal": bool, "at": ms}      (error_cb)
  {"t": "done", "remaining": n, "produced": n}
"""
import json
import sys
import threading
import time

from confluent_kafka import Producer

bootstrap, topic, rate, extra = sys.argv[1], sys.argv[2], float(sys.argv[4]), json.loads(sys.argv[5])
partitions = [int(p) for p in sys.argv[3].split(',')]
prefix = extra.pop('prefix', 'lrd')
lock = threading.Lock()


def emit(doc):
    line = json.dumps(doc)
    with lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def now():
    return time.time() * 1000


def on_error(err):
    emit({'t': 'error', 'err': str(err), 'fatal': err.fatal(), 'at': now()})


config = {
    'bootstrap.servers': bootstrap,
    'client.id': 'samsa-chaos-librdkafka',
    'acks': 'all',
    'linger.ms': 5,
    'message.timeout.ms': 120000,
    'request.timeout.ms': 10000,
    'retry.backoff.ms': 100,
    'reconnect.backoff.ms': 50,
    'reconnect.backoff.max.ms': 500,
    'topic.metadata.refresh.interval.ms': 5000,
    'error_cb': on_error,
}
config.update(extra)
producer = Producer(config)
stop = threading.Event()


def watch_stdin():
    sys.stdin.read()
    stop.set()


threading.Thread(target=watch_stdin, daemon=True).start()


def reporter(part, value, sent):
    def report(err, msg):
        if err is None:
            emit({'t': 'ack', 'p': msg.partition(), 'o': msg.offset(), 'v': value, 'sent': sent, 'acked': now()})
        else:
            emit({'t': 'fail', 'p': part, 'v': value, 'err': str(err), 'sent': sent, 'acked': now()})
    return report


seq = {part: 0 for part in partitions}
produced = 0
interval = 1.0 / rate
while not stop.is_set():
    for part in partitions:
        value = f'{prefix}-p{part}-{seq[part]}'
        sent = now()
        try:
            producer.produce(topic, value.encode(), partition=part, on_delivery=reporter(part, value, sent))
        except BufferError:
            producer.poll(0.1)
            continue
        seq[part] += 1
        produced += 1
    producer.poll(0)
    time.sleep(interval)

remaining = producer.flush(90)
emit({'t': 'done', 'remaining': remaining, 'produced': produced})
