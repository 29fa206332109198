# librdkafka (confluent-kafka-python 1.7, librdkafka 2.0.2) with api.version.request=false and an old
# broker.version.fallback (0.9.0.0: Produce v1 / Fetch v1, message format v0 with its LZ4 quirk;
# 0.10.0.0: Produce v2 / Fetch v2, message format v1) against Runnel: every codec librdkafka can
# send in those formats, keys, null keys, timestamps (magic 1), consumed back with the same config.
# Usage: confluent_old.py BOOTSTRAP 0.9.0.0|0.10.0.0. Exits non-zero on the first mismatch; prints OK.
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition, TIMESTAMP_CREATE_TIME

bootstrap, fallback = sys.argv[1], sys.argv[2]
magic1 = not fallback.startswith("0.9")
count = 300
old = {"bootstrap.servers": bootstrap, "api.version.request": False, "broker.version.fallback": fallback}


def expect(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


for codec in ["none", "gzip", "snappy", "lz4"]:
    topic = "rk-%s-%s" % (fallback.replace(".", "-"), codec)
    producer = Producer({**old, "compression.codec": codec, "linger.ms": 20})
    base = int(time.time() * 1000) - 60000
    errors = []
    for index in range(count):
        key = ("key-%d" % index).encode() if index % 7 else None
        producer.produce(topic, value=("value-%d|" % index).encode() * 4, key=key, partition=0, timestamp=base + index,
                         on_delivery=lambda error, message: errors.append(error) if error else None)
    expect(producer.flush(20) == 0, "%s: unflushed" % codec)
    expect(not errors, "%s: delivery errors %s" % (codec, errors[:3]))
    consumer = Consumer({**old, "group.id": "rk-%s-%s" % (fallback, codec), "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    records = []
    deadline = time.time() + 20
    while len(records) < count and time.time() < deadline:
        message = consumer.poll(1.0)
        if message is None:
            continue
        expect(message.error() is None, "%s: consume error %s" % (codec, message.error()))
        records.append(message)
    consumer.close()
    expect([message.offset() for message in records] == list(range(count)), "%s: offsets %s" % (codec, [m.offset() for m in records][:5]))
    for index, message in enumerate(records):
        expect(message.value() == ("value-%d|" % index).encode() * 4, "%s: value %d" % (codec, index))
        expect(message.key() == (("key-%d" % index).encode() if index % 7 else None), "%s: key %d" % (codec, index))
        kind, timestamp = message.timestamp()
        if magic1:
            expect(kind == TIMESTAMP_CREATE_TIME and timestamp == base + index, "%s: timestamp %s %s" % (codec, kind, timestamp))
    print("%s: %d records" % (codec, len(records)))
print("OK")
