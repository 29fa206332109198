"""kafka-python: produce records with keys, headers and null values, consume them back with
assign/seek_to_beginning (no group), and create/delete topics with its admin client.
Usage: kafka_python_roundtrip.py BOOTSTRAP."""
import sys
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

bootstrap = sys.argv[1]
topic = "kafka-python-roundtrip"
count = 500

admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1), NewTopic("kp-doomed", 1, 1)])

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
for index in range(count):
    key = None if index % 7 == 0 and index % 5 != 0 else f"k{index}".encode()
    value = None if index % 5 == 0 else f"value-{index}".encode()
    headers = [("i", str(index).encode()), ("empty", b"")] if index % 3 else []
    producer.send(topic, key=key, value=value, headers=headers, partition=index % 2)
producer.flush(30)
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
consumer.assign(partitions)
consumer.seek_to_beginning(*partitions)
received = {}
for message in consumer:
    index = None
    received_key = message.key
    # Recover the index from the offset: partition p holds indexes p, p+2, p+4, ...
    index = message.offset * 2 + message.partition
    received[index] = message
    if len(received) == count:
        break
consumer.close()
if len(received) != count:
    sys.exit(f"received {len(received)} of {count}")
for index, message in received.items():
    key = None if index % 7 == 0 and index % 5 != 0 else f"k{index}".encode()
    value = None if index % 5 == 0 else f"value-{index}".encode()
    headers = [("i", str(index).encode()), ("empty", b"")] if index % 3 else []
    if message.key != key or message.value != value or list(message.headers) != headers:
        sys.exit(f"record {index} differs: {message.key!r} {message.value!r} {message.headers!r}")

admin.delete_topics(["kp-doomed"])
if "kp-doomed" in admin.list_topics():
    sys.exit("kp-doomed still listed after delete")
admin.close()
print("OK")
