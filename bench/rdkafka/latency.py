#!/usr/bin/python3
"""Produce latency at a fixed rate with librdkafka (confluent-kafka): per-message time from
produce() to its delivery report, as p50/p99/max in milliseconds, printed as JSON.

usage: latency.py <bootstrap> <topic> <rate msg/s> <seconds> <size> <acks> [legacy-0.9]
"""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, rate, seconds, size, acks = sys.argv[1:7]
rate, seconds, size = int(rate), float(seconds), int(size)
conf = {'bootstrap.servers': bootstrap, 'acks': acks, 'linger.ms': 0}
if len(sys.argv) > 7:
    conf.update({'api.version.request': False, 'broker.version.fallback': '0.9.0.1'})
p = Producer(conf)
latencies = []
errors = []

def done(err, msg, sent):
    if err is not None:
        errors.append(str(err))
    else:
        latencies.append((time.perf_counter() - sent) * 1000)

payload = b'x' * size
# Warm up the connection and metadata.
p.produce(topic, payload, partition=0, on_delivery=lambda e, m, s=time.perf_counter(): None)
p.flush(10)
interval = 1.0 / rate
start = time.perf_counter()
n = int(rate * seconds)
for i in range(n):
    target = start + i * interval
    while True:
        now = time.perf_counter()
        if now >= target:
            break
        p.poll(min(target - now, 0.001))
    sent = time.perf_counter()
    p.produce(topic, payload, partition=0, on_delivery=lambda e, m, s=sent: done(e, m, s))
    p.poll(0)
p.flush(30)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] if latencies else None
print(json.dumps({'count': len(latencies), 'errors': len(errors), 'p50': pick(0.5), 'p99': pick(0.99), 'max': latencies[-1] if latencies else None}))
