# Byte-exact round trips between old-format and new-format clients on one Runnel broker:
#   old → new: kafka-python api_version (0, 9) and (0, 10) produce (gzip and plain); confluent-kafka
#              with its defaults (Produce/Fetch v3+, RecordBatch v2) reads every key and value back
#              byte for byte, and the magic 1 timestamps.
#   new → old: confluent-kafka (RecordBatch v2, lz4, with headers) produces; kafka-python (0, 9) and
#              (0, 10) and librdkafka with broker.version.fallback=0.9.0.0 read it back byte for byte.
# Usage: cross_old_new.py BOOTSTRAP. Exits non-zero on the first mismatch; prints OK.
import os
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

bootstrap = sys.argv[1]
count = 100
payloads = [(os.urandom(index % 50) if index % 9 else None, os.urandom(1 + (index * 37) % 3000)) for index in range(count)]


def expect(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


def new_consume(topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cross-" + topic, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    out = []
    deadline = time.time() + 20
    while len(out) < count and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is not None:
            expect(message.error() is None, "new consumer error %s" % message.error())
            out.append(message)
    consumer.close()
    return out


def old_consume(topic, version):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=version, enable_auto_commit=False)
    partition = KafkaTopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    out = []
    deadline = time.time() + 20
    while len(out) < count and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=1000).values():
            out.extend(batch)
    consumer.close()
    return out


# old → new
for version in [(0, 9), (0, 10)]:
    for codec in [None, "gzip"]:
        topic = "cross-old-%d-%d-%s" % (version + (codec or "none",))
        producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=version, compression_type=codec)
        base = int(time.time() * 1000) - 5000
        for index, (key, value) in enumerate(payloads):
            extra = {"timestamp_ms": base + index} if version >= (0, 10) else {}
            producer.send(topic, key=key, value=value, partition=0, **extra)
        producer.flush()
        producer.close()
        messages = new_consume(topic)
        expect(len(messages) == count, "%s: new consumer read %d" % (topic, len(messages)))
        for index, message in enumerate(messages):
            expect((message.key(), message.value()) == payloads[index], "%s: record %d differs" % (topic, index))
            if version >= (0, 10):
                expect(message.timestamp()[1] == base + index, "%s: timestamp %s" % (topic, message.timestamp()))
        print("old %s %s -> new: %d records byte-exact" % (version, codec or "none", count))

# new → old
topic = "cross-new"
producer = Producer({"bootstrap.servers": bootstrap, "compression.codec": "lz4", "linger.ms": 20})
for key, value in payloads:
    producer.produce(topic, key=key, value=value, partition=0, headers=[("h", b"dropped for old clients")])
expect(producer.flush(20) == 0, "new producer unflushed")
for version in [(0, 9), (0, 10)]:
    records = old_consume(topic, version)
    expect(len(records) == count, "new -> old %s: read %d" % (version, len(records)))
    for index, record in enumerate(records):
        expect((record.key, record.value) == payloads[index], "new -> old %s: record %d differs" % (version, index))
    print("new -> old %s: %d records byte-exact" % (version, count))
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cross-rk-old", "api.version.request": False, "broker.version.fallback": "0.9.0.0", "enable.auto.commit": False})
consumer.assign([TopicPartition(topic, 0, 0)])
messages = []
deadline = time.time() + 20
while len(messages) < count and time.time() < deadline:
    message = consumer.poll(1.0)
    if message is not None:
        expect(message.error() is None, "librdkafka 0.9 consumer error %s" % message.error())
        messages.append(message)
consumer.close()
expect([(m.key(), m.value()) for m in messages] == payloads, "new -> librdkafka 0.9.0.0: records differ")
print("new -> librdkafka 0.9.0.0: %d records byte-exact" % count)
print("OK")
