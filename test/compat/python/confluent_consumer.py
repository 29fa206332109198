"""confluent-kafka-python consumer without a group: assign, seek, offsets_for_times,
get_watermark_offsets, on a 3-partition topic created with the admin client.
Usage: confluent_consumer.py BOOTSTRAP."""
import sys
import time
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap = sys.argv[1]
topic = "consumer-apis"
admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(15)

producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
# Partition 1 gets 100 records: 50 with timestamp base, 50 with base + 10 s.
base = int(time.time() * 1000) - 60_000
for index in range(100):
    stamp = base + (0 if index < 50 else 10_000) + index
    producer.produce(topic, value=f"v{index}".encode(), partition=1, timestamp=stamp)
producer.flush(15)

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
low, high = consumer.get_watermark_offsets(TopicPartition(topic, 1), timeout=10)
if (low, high) != (0, 100):
    sys.exit(f"watermarks {low}, {high}, expected 0, 100")
empty = consumer.get_watermark_offsets(TopicPartition(topic, 2), timeout=10)
if empty != (0, 0):
    sys.exit(f"empty partition watermarks {empty}")

found = consumer.offsets_for_times([TopicPartition(topic, 1, base + 10_000)], timeout=10)
# The first record at or after base+10s is record 50, even inside a batch that starts earlier
# (librdkafka put all 100 records in one or two batches): Kafka answers by record, not by batch.
if found[0].offset != 50:
    sys.exit(f"offsets_for_times gave {found[0].offset}, expected 50")
future = consumer.offsets_for_times([TopicPartition(topic, 1, base + 3_600_000)], timeout=10)
if future[0].offset != -1:
    sys.exit(f"offsets_for_times past the end gave {future[0].offset}, expected -1 (end)")

consumer.assign([TopicPartition(topic, 1, 0)])
first = consumer.consume(num_messages=1, timeout=10)
if not first or first[0].value() != b"v0":
    sys.exit(f"first record {first and first[0].value()!r}")
consumer.seek(TopicPartition(topic, 1, 77))
got = None
deadline = time.time() + 10
while got is None and time.time() < deadline:
    batch = consumer.consume(num_messages=1, timeout=1)
    if batch and not batch[0].error():
        got = batch[0]
if got is None or got.offset() != 77 or got.value() != b"v77":
    sys.exit(f"after seek(77): {got and (got.offset(), got.value())}")
if got.timestamp()[1] != base + 10_000 + 77:
    sys.exit(f"timestamp of 77 is {got.timestamp()}, expected {base + 10_000 + 77}")
consumer.close()

# message.timestamp.type=LogAppendTime: the broker's clock replaces the producer's timestamps.
admin.create_topics([NewTopic("log-append-time", num_partitions=1, replication_factor=1,
                              config={"message.timestamp.type": "LogAppendTime"})])["log-append-time"].result(15)
before = int(time.time() * 1000)
for index in range(10):
    producer.produce("log-append-time", value=f"a{index}".encode(), timestamp=1_000_000 + index)
producer.flush(15)
after = int(time.time() * 1000)
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
consumer.assign([TopicPartition("log-append-time", 0, 0)])
stamped = []
while len(stamped) < 10:
    batch = consumer.consume(num_messages=10, timeout=10)
    if not batch:
        sys.exit(f"log-append-time: consumed {len(stamped)} of 10")
    stamped.extend(message.timestamp() for message in batch if not message.error())
consumer.close()
from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME
for kind, stamp in stamped:
    if kind != TIMESTAMP_LOG_APPEND_TIME or not (before - 1000 <= stamp <= after + 1000):
        sys.exit(f"log-append-time: got {(kind, stamp)}, expected LogAppendTime in [{before}, {after}]")
print("OK")
