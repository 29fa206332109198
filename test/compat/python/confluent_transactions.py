"""Transactions with confluent-kafka-python (librdkafka 2.0.2) against Runnel.

Usage: confluent_transactions.py BOOTSTRAP RUN_ID

A transactional producer writes three transactions to three partitions of two topics (A-0, A-1,
B-0): the first committed with send_offsets_to_transaction for a group, the second aborted, the
third committed. A read_committed consumer must see exactly the committed records, a
read_uncommitted one all of them; the group's committed offsets are the first transaction's.
Then zombie fencing: a second producer with the same transactional.id fences the first, whose
next transaction fails and whose records never become visible. Prints "OK" at the end; exits
non-zero on the first mismatch.
"""
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, run_id = sys.argv[1], sys.argv[2]
topic_a, topic_b, group = f"txn-a-{run_id}", f"txn-b-{run_id}", f"txn-group-{run_id}"
partitions = [(topic_a, 0), (topic_a, 1), (topic_b, 0)]


def fail(message):
    print(f"FAIL {message}", flush=True)
    sys.exit(1)


def producer(transactional_id):
    return Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": transactional_id,
        "transaction.timeout.ms": 30000,
        "linger.ms": 5,
    })


def produce_all(p, prefix, count):
    for topic, partition in partitions:
        for index in range(count):
            p.produce(topic, value=f"{prefix}-{topic}-{partition}-{index}".encode(), partition=partition)
    p.flush(30)


def consume_all(isolation):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"reader-{isolation}-{run_id}",
        "isolation.level": isolation,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    consumer.assign([TopicPartition(topic, partition, 0) for topic, partition in partitions])
    values, at_eof = [], set()
    while len(at_eof) < len(partitions):
        message = consumer.poll(10)
        if message is None:
            fail(f"{isolation}: no message or end of partition within 10 s (eof {sorted(at_eof)})")
        if message.error():
            if message.error().code() == -191:  # _PARTITION_EOF
                at_eof.add((message.topic(), message.partition()))
                continue
            fail(f"{isolation}: {message.error()}")
        values.append(message.value().decode())
    consumer.close()
    return values


for topic in (topic_a, topic_b):
    # Create the topics (two partitions for A) through a plain producer's auto-create.
    pass
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

admin = AdminClient({"bootstrap.servers": bootstrap})
for future in admin.create_topics([NewTopic(topic_a, 2, 1), NewTopic(topic_b, 1, 1)]).values():
    future.result(30)

p = producer(f"tx-{run_id}")
p.init_transactions(30)
group_consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})

p.begin_transaction()
produce_all(p, "commit1", 5)
p.send_offsets_to_transaction([TopicPartition(topic_a, 0, 42), TopicPartition(topic_b, 0, 7)], group_consumer.consumer_group_metadata(), 30)
p.commit_transaction(30)
print("committed 1", flush=True)

p.begin_transaction()
produce_all(p, "abort", 4)
p.send_offsets_to_transaction([TopicPartition(topic_a, 0, 1000)], group_consumer.consumer_group_metadata(), 30)
p.abort_transaction(30)
print("aborted 2", flush=True)

p.begin_transaction()
produce_all(p, "commit3", 3)
p.commit_transaction(30)
print("committed 3", flush=True)

committed = group_consumer.committed([TopicPartition(topic_a, 0), TopicPartition(topic_b, 0)], 30)
offsets = {(tp.topic, tp.partition): tp.offset for tp in committed}
if offsets != {(topic_a, 0): 42, (topic_b, 0): 7}:
    fail(f"group offsets {offsets}, expected the first transaction's (42, 7)")
print("group offsets", offsets[(topic_a, 0)], offsets[(topic_b, 0)], flush=True)
group_consumer.close()

read_committed = consume_all("read_committed")
read_uncommitted = consume_all("read_uncommitted")
expected_committed = {f"{prefix}-{t}-{pa}-{i}" for prefix, n in (("commit1", 5), ("commit3", 3)) for t, pa in partitions for i in range(n)}
expected_aborted = {f"abort-{t}-{pa}-{i}" for t, pa in partitions for i in range(4)}
if len(read_committed) != len(expected_committed) or set(read_committed) != expected_committed:
    fail(f"read_committed saw {len(read_committed)} records, expected {len(expected_committed)}: {sorted(set(read_committed) ^ expected_committed)[:5]}")
if set(read_uncommitted) != expected_committed | expected_aborted or len(read_uncommitted) != len(expected_committed) + len(expected_aborted):
    fail(f"read_uncommitted saw {len(read_uncommitted)} records, expected {len(expected_committed) + len(expected_aborted)}")
print("read_committed", len(read_committed), "read_uncommitted", len(read_uncommitted), flush=True)

# Zombie fencing: a new incarnation of the same transactional.id fences the first producer.
p.begin_transaction()
p.produce(topic_a, value=b"zombie-before-fence", partition=0)
p.flush(30)
newer = producer(f"tx-{run_id}")
newer.init_transactions(30)  # aborts the older incarnation's open transaction, bumps the epoch
print("newer initialized", flush=True)
fenced = False
try:
    p.produce(topic_a, value=b"zombie-after-fence", partition=0)
    p.flush(10)
    p.commit_transaction(10)
except KafkaException as error:
    fenced = error.args[0].fatal() or "fenced" in str(error).lower()
    print("zombie error", error.args[0].name(), flush=True)
if not fenced:
    fail("the older producer was not fenced")
newer.begin_transaction()
newer.produce(topic_b, value=b"newer-committed", partition=0)
newer.commit_transaction(30)
final = consume_all("read_committed")
if any(value.startswith("zombie") for value in final):
    fail("a fenced producer's record became visible to read_committed")
if "newer-committed" not in final:
    fail("the new incarnation's commit is not visible")
print("fenced OK", flush=True)
print("OK", flush=True)
