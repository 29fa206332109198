"""The canonical exactly-once consume-transform-produce loop (confluent-kafka-python).

  confluent_eos.py fill BOOTSTRAP IN COUNT          writes values 0..COUNT-1 to IN (3 partitions, round robin)
  confluent_eos.py process BOOTSTRAP IN OUT GROUP   reads IN (read_committed) from the group's committed
      offsets, writes "out-<value>" to OUT and the consumed offsets to GROUP in one transaction per
      batch (transactional.id fixed: a restarted processor fences its killed predecessor and aborts
      its open transaction), prints "T <records>" after each commit and "DONE" once IN is consumed.
  confluent_eos.py check BOOTSTRAP IN OUT GROUP COUNT   reads OUT read_committed; prints "CHECK ok" when
      every value appears exactly once and the group's offsets are IN's end offsets, else "CHECK FAIL …".
"""
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

mode, bootstrap = sys.argv[1], sys.argv[2]
PARTITIONS = 3


def end_offsets(consumer, topic):
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1] for p in range(PARTITIONS)}


if mode == "fill":
    topic, count = sys.argv[3], int(sys.argv[4])
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for value in range(count):
        producer.produce(topic, str(value).encode(), partition=value % PARTITIONS)
    producer.flush(60)
    print("FILLED", flush=True)

elif mode == "process":
    topic_in, topic_out, group = sys.argv[3], sys.argv[4], sys.argv[5]
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"eos-{group}", "linger.ms": 2, "transaction.timeout.ms": 60000})
    producer.init_transactions(60)
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group, "isolation.level": "read_committed",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "enable.partition.eof": True,
    })
    committed = consumer.committed([TopicPartition(topic_in, p) for p in range(PARTITIONS)], 30)
    consumer.assign([TopicPartition(topic_in, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING) for tp in committed])
    ends = end_offsets(consumer, topic_in)
    # Where each partition stands before anything is consumed: the committed offset. position() is
    # invalid (-1001) for a partition that yields no record, so a processor restarted after the last
    # commit (nothing left to do) would otherwise never see itself done and never print DONE.
    reached = {tp.partition: max(tp.offset, 0) for tp in committed}
    total = 0
    while True:
        messages = consumer.consume(50, 1.0)
        records = [m for m in messages if not m.error()]
        for m in messages:
            if m.error() and m.error().code() == -191:  # partition EOF: its offset is where we stand
                reached[m.partition()] = max(reached[m.partition()], m.offset())
            elif m.error():
                raise SystemExit(f"consume error {m.error()}")
        if records:
            producer.begin_transaction()
            for m in records:
                producer.produce(topic_out, b"out-" + m.value(), partition=m.partition())
            positions = [TopicPartition(topic_in, p, consumer.position([TopicPartition(topic_in, p)])[0].offset) for p in range(PARTITIONS)]
            positions = [tp for tp in positions if tp.offset >= 0]
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(30)
            total += len(records)
            print("T", total, flush=True)
        positions = {p: max(consumer.position([TopicPartition(topic_in, p)])[0].offset, reached[p]) for p in range(PARTITIONS)}
        if all(positions[p] >= ends[p] for p in range(PARTITIONS)):
            print("DONE", flush=True)
            break
    consumer.close()

elif mode == "check":
    topic_in, topic_out, group, count = sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group + "-checker", "isolation.level": "read_committed", "enable.partition.eof": True, "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic_out, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    seen, eof = {}, set()
    while len(eof) < PARTITIONS:
        m = consumer.poll(10)
        if m is None:
            print("CHECK FAIL no end of partition within 10 s", flush=True)
            sys.exit(1)
        if m.error():
            if m.error().code() == -191:
                eof.add(m.partition())
                continue
            print("CHECK FAIL", m.error(), flush=True)
            sys.exit(1)
        value = m.value().decode()
        seen[value] = seen.get(value, 0) + 1
    duplicates = [v for v, n in seen.items() if n > 1]
    missing = [v for v in range(count) if f"out-{v}" not in seen]
    group_consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    committed = {tp.partition: tp.offset for tp in group_consumer.committed([TopicPartition(topic_in, p) for p in range(PARTITIONS)], 30)}
    ends = end_offsets(group_consumer, topic_in)
    if duplicates or missing or len(seen) != count or committed != ends:
        print(f"CHECK FAIL {len(seen)} distinct of {count}; duplicates {duplicates[:5]} ({len(duplicates)}); missing {missing[:5]} ({len(missing)}); committed {committed} ends {ends}", flush=True)
        sys.exit(1)
    print(f"CHECK ok {len(seen)} records exactly once; group offsets {committed}", flush=True)
