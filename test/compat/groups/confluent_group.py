"""Group consumer / producer driven by test/compat/groups-confluent.test.ts (confluent-kafka-python).

  produce BOOTSTRAP TOPIC COUNT            keyed records k<i> = <i>, prints "P done"
  consume BOOTSTRAP GROUP TOPIC ID [STRATEGY [GROUP_INSTANCE_ID]]
      prints "A p,p,.." on assignment, "R p,p,.." on revocation,
      "M <partition> <offset> <value>" per record; commits synchronously (see consume), printing
      "I <partition> <next offset>" before and "C <partition> <next offset>" after each commit;
      "F <error>" when a commit fails. SIGTERM: close (leave the group) and print "X".
      env COMMIT_EVERY (default 100) records between commits; IDLE_COMMIT=0 skips commits when idle
      (a consumer about to be killed then holds a wider uncommitted window); PROCESS_MS: time spent
      on each record (so that a kill lands while processing rather than in a commit).
"""

import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def produce(bootstrap, topic, count):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": False, "acks": "all"})
    for index in range(count):
        while True:
            try:
                producer.produce(topic, key=f"k{index}", value=str(index))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(30)
    out(f"P done {remaining}")


def consume(bootstrap, group, topic, member, strategy, instance=None):
    """poll() hands out one record at a time, fetched under the current assignment, so a record is
    never processed after its partition was revoked. Offsets are committed synchronously every 100
    records, when idle, and in on_revoke (the generation is still valid then), so a rebalance never
    re-delivers a processed record; only a crash does (the uncommitted window)."""
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": f"consumer-{member}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "partition.assignment.strategy": strategy,
        **({"group.instance.id": instance} if instance else {}),
    })
    incremental = strategy == "cooperative-sticky"
    pending = {}

    def commit(only=None):
        wanted = {p: o for p, o in pending.items() if only is None or p in only}
        if not wanted:
            return
        for p, o in wanted.items():
            out(f"I {p} {o}")
        try:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in wanted.items()], asynchronous=False)
            for p, o in wanted.items():
                out(f"C {p} {o}")
        except KafkaException as error:
            out(f"F {error}")
        for p in wanted:
            pending.pop(p, None)

    def on_assign(c, partitions):
        out("A " + ",".join(str(p.partition) for p in partitions))
        if incremental:
            c.incremental_assign(partitions)
        else:
            c.assign(partitions)

    def on_revoke(c, partitions):
        commit({p.partition for p in partitions})
        out("R " + ",".join(str(p.partition) for p in partitions))
        if incremental:
            c.incremental_unassign(partitions)
        else:
            c.unassign()

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    commit_every = int(os.environ.get("COMMIT_EVERY", "100"))
    idle_commit = os.environ.get("IDLE_COMMIT", "1") != "0"
    process_seconds = float(os.environ.get("PROCESS_MS", "0")) / 1000
    since_commit = 0
    while running[0]:
        message = consumer.poll(0.1)
        if message is None or message.error():
            if idle_commit:
                commit()
                since_commit = 0
            continue
        out(f"M {message.partition()} {message.offset()} {message.value().decode()}")
        if process_seconds > 0:
            time.sleep(process_seconds)
        pending[message.partition()] = message.offset() + 1
        since_commit += 1
        if since_commit >= commit_every:
            commit()
            since_commit = 0
    commit()
    consumer.close()
    out("X")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        consume(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else "range",
                sys.argv[7] if len(sys.argv) > 7 else None)
