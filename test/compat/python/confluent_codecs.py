"""confluent-kafka-python (librdkafka): produce with each compression codec (non-idempotent),
consume everything back with assign() and check every key, value and header.
Usage: confluent_codecs.py BOOTSTRAP. Exits non-zero with a message on any mismatch."""
import sys
from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap = sys.argv[1]
count = 2000
codecs = ["none", "gzip", "snappy", "lz4", "zstd"]

for codec in codecs:
    topic = f"codec-{codec}"
    errors = []
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "compression.type": codec,
        "enable.idempotence": False,
        "linger.ms": 5,
        "acks": "all",
    })
    def report(error, message):
        if error is not None:
            errors.append(str(error))
    for index in range(count):
        # Compressible values so that the codecs actually shrink something.
        value = (f"{codec}-{index}-" + "x" * (index % 200)).encode()
        producer.produce(topic, key=str(index).encode(), value=value, headers=[("index", str(index).encode())], on_delivery=report)
        if index % 500 == 0:
            producer.poll(0)
    left = producer.flush(30)
    if left or errors:
        sys.exit(f"{codec}: {left} undelivered, errors: {errors[:3]}")

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    seen = 0
    while seen < count:
        messages = consumer.consume(num_messages=1000, timeout=10)
        if not messages:
            sys.exit(f"{codec}: consumed only {seen} of {count}")
        for message in messages:
            if message.error():
                sys.exit(f"{codec}: consume error {message.error()}")
            expected = (f"{codec}-{seen}-" + "x" * (seen % 200)).encode()
            if message.offset() != seen or message.key() != str(seen).encode() or message.value() != expected:
                sys.exit(f"{codec}: record {seen} differs: offset {message.offset()} key {message.key()!r}")
            if message.headers() != [("index", str(seen).encode())]:
                sys.exit(f"{codec}: headers of {seen} differ: {message.headers()!r}")
            seen += 1
    consumer.close()
    print(f"{codec}: {count} records produced and consumed back")
print("OK")
