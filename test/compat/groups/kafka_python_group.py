"""kafka-python group consumer for test/compat/groups-clients.test.ts.

  kafka_python_group.py BOOTSTRAP GROUP TOPIC LIMIT
      joins GROUP, consumes LIMIT records (gives up after 15 s without records: a failure bound,
      not a way to conclude that nothing else comes),
      commits synchronously, prints "M <partition> <offset> <value>" per record and "X" after
      close() (which leaves the group).
"""
import sys
import time

from kafka import KafkaConsumer

bootstrap, group, topic, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id=group,
    enable_auto_commit=False,
    auto_offset_reset="earliest",
    session_timeout_ms=6000,
    heartbeat_interval_ms=500,
)
count = 0
idle_since = time.time()
while count < limit and time.time() - idle_since < 15:
    batches = consumer.poll(timeout_ms=200, max_records=limit - count)
    for _, records in batches.items():
        for record in records:
            print(f"M {record.partition} {record.offset} {record.value.decode()}", flush=True)
            count += 1
            idle_since = time.time()
    if batches:
        consumer.commit()
consumer.commit()
consumer.close()
print("X", flush=True)
