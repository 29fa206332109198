"""Helper of the broker-crash transactions test (confluent-kafka-python, librdkafka 2.0.2).

  confluent_txn_crash.py open BOOTSTRAP TOPIC   commits 20 records in one transaction, then
      leaves 50 more in an open transaction (flushed: on the broker), prints "open", and waits
      to be killed.
  confluent_txn_crash.py read BOOTSTRAP TOPIC   reads partition 0 read_committed to its end and
      prints "read N" and the distinct value prefixes.
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

mode, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]

if mode == "open":
    p = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": f"crash-{topic}",
        "transaction.timeout.ms": 3000,
        "message.timeout.ms": 3000,
    })
    p.init_transactions(30)
    p.begin_transaction()
    for index in range(20):
        p.produce(topic, value=f"committed-{index}".encode(), partition=0)
    p.commit_transaction(30)
    p.begin_transaction()
    for index in range(50):
        p.produce(topic, value=f"open-{index}".encode(), partition=0)
    p.flush(30)
    print("open", flush=True)
    time.sleep(120)  # killed by the test long before
elif mode == "read":
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"crash-reader-{topic}",
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
        "enable.auto.commit": False,
    })
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    while True:
        message = consumer.poll(10)
        if message is None:
            print("FAIL no end of partition within 10 s", flush=True)
            sys.exit(1)
        if message.error():
            if message.error().code() == -191:
                break
            print(f"FAIL {message.error()}", flush=True)
            sys.exit(1)
        values.append(message.value().decode())
    consumer.close()
    print("read", len(values), " ".join(sorted({value.split("-")[0] for value in values})), flush=True)
