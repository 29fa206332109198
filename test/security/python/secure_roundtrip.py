"""confluent-kafka-python (librdkafka) over a secured listener: produce N records, then read them
back as a member of a consumer group. Usage: secure_roundtrip.py BOOTSTRAP TOPIC GROUP KEY=VALUE…
(the KEY=VALUE pairs are librdkafka security settings). Prints the records read, one per line."""
import sys
from confluent_kafka import Consumer, KafkaException, Producer

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
security = dict(pair.split("=", 1) for pair in sys.argv[4:])
count = 5

producer = Producer({"bootstrap.servers": bootstrap, **security})
errors = []
for index in range(count):
    producer.produce(topic, f"py-{index}".encode(), on_delivery=lambda error, _message: errors.append(error) if error else None)
remaining = producer.flush(30)
if remaining or errors:
    sys.exit(f"produce failed: {remaining} unsent, errors {errors}")

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest", **security})
consumer.subscribe([topic])
seen = []
for _ in range(300):
    message = consumer.poll(0.2)
    if message is None:
        if len(seen) >= count:
            break
        continue
    if message.error():
        raise KafkaException(message.error())
    seen.append(message.value().decode())
consumer.commit(asynchronous=False)
consumer.close()
print("\n".join(seen))
