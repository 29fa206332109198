# kafka-python 2.0.2 pinned to an old broker API (api_version (0, 9): Produce v1 / Fetch v1, message
# format v0; (0, 10): Produce v2 / Fetch v2, message format v1) against Runnel: every codec,
# keys, null keys, timestamps (magic 1 only), seek, and a consumer group committing offsets.
# Usage: kafka_python_old.py BOOTSTRAP 0.9|0.10. Exits non-zero on the first mismatch; prints OK.
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, version_text = sys.argv[1], sys.argv[2]
version = tuple(int(part) for part in version_text.split("."))
magic1 = version >= (0, 10)
count = 200


def expect(condition, message):
    if not condition:
        print("FAIL:", message)
        sys.exit(1)


def consume(consumer, wanted):
    records = []
    deadline = time.time() + 20
    while len(records) < wanted and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=1000).values():
            records.extend(batch)
    return records


for codec in [None, "gzip", "snappy", "lz4"]:
    topic = "kp-%s-%s" % (version_text.replace(".", "-"), codec or "none")
    producer = KafkaProducer(bootstrap_servers=bootstrap, api_version=version, compression_type=codec, linger_ms=20)
    base = int(time.time() * 1000) - 60000
    futures = []
    for index in range(count):
        extra = {"timestamp_ms": base + index} if magic1 else {}
        key = ("key-%d" % index).encode() if index % 5 else None
        futures.append(producer.send(topic, key=key, value=("value-%d|" % index).encode() * 3, partition=0, **extra))
    producer.flush()
    offsets = [future.get(timeout=10).offset for future in futures]
    expect(offsets == list(range(count)), "%s: offsets %s" % (codec, offsets[:5]))
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version=version, enable_auto_commit=False)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    records = consume(consumer, count)
    expect([record.offset for record in records] == list(range(count)), "%s: consumed offsets %s" % (codec, [r.offset for r in records][:5]))
    for index, record in enumerate(records):
        expect(record.value == ("value-%d|" % index).encode() * 3, "%s: value %d" % (codec, index))
        expect(record.key == (("key-%d" % index).encode() if index % 5 else None), "%s: key %d" % (codec, index))
        if magic1:
            expect(record.timestamp == base + index and record.timestamp_type == 0, "%s: timestamp %s/%s" % (codec, record.timestamp, record.timestamp_type))
        else:
            expect(record.timestamp in (None, -1), "%s: magic 0 timestamp %s" % (codec, record.timestamp))
    consumer.seek(partition, 150)
    again = consume(consumer, count - 150)
    expect(again[0].offset == 150 and len(again) == count - 150, "%s: seek gave %s" % (codec, [r.offset for r in again][:3]))
    end = consumer.end_offsets([partition])[partition] if version >= (0, 10, 1) else None
    consumer.close()
    print("%s: %d records, seek ok%s" % (codec or "none", len(records), "" if end is None else ", end %d" % end))

# A consumer group (JoinGroup/SyncGroup v0, OffsetCommit v2, OffsetFetch v1) on the gzip topic.
topic = "kp-%s-gzip" % version_text.replace(".", "-")
group = "kp-group-%s" % version_text
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, api_version=version, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
records = consume(consumer, 120)
expect(len(records) >= 120, "group consumed %d" % len(records))
consumer.commit({TopicPartition(topic, 0): __import__("kafka").OffsetAndMetadata(120, "")})
consumer.close()
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, api_version=version, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False)
records = consume(consumer, count - 120)
expect(records and records[0].offset == 120, "group resumed at %s" % (records[0].offset if records else None))
consumer.close()
print("group: resumed at 120")
print("OK")
