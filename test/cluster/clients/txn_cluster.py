"""Transactions across a cluster (confluent-kafka-python, librdkafka): helper of
test/cluster/transactions.test.ts.

  txn_cluster.py produce BOOTSTRAP TOPIC PARTITIONS TXID COUNT GROUP [GATE_N GATE_FILE]
      COUNT transactions, each with RECORDS records on every partition of TOPIC (values
      "t<n>-p<partition>-<i>") and the group GROUP's offset (partition 0 at n+1) sent to the
      transaction; transaction n is aborted when n % 3 == 2, else committed. Prints
      "COMMITTING n" / "ABORTING n" before ending it and "COMMITTED n" / "ABORTED n" once its
      outcome is final (a retriable error of commit is retried; an abortable one aborts, printed
      ABORTED), then "DONE". Exits non-zero on a fatal error. With GATE_N: before ending
      transaction GATE_N (its records all acknowledged), prints "GATE n" and waits until GATE_FILE
      exists (the test arranges a failure meanwhile).
  txn_cluster.py read BOOTSTRAP TOPIC PARTITIONS ISOLATION GROUP
      Reads every partition from offset 0 to its end with the isolation level and prints
      "V value" per record, then "OFFSET o" (GROUP's committed offset of partition 0), "END".
"""
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

RECORDS = 5


def produce(bootstrap, topic, partitions, transactional_id, count, group, gate=None):
    failures = []
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": transactional_id,
        "transaction.timeout.ms": 30000,
        "linger.ms": 2,
    })

    def delivered(error, message):
        if error is not None:
            failures.append(str(error))

    group_metadata = Consumer({"bootstrap.servers": bootstrap, "group.id": group}).consumer_group_metadata()
    producer.init_transactions(60)
    for n in range(count):
        commit = n % 3 != 2
        producer.begin_transaction()
        for partition in range(partitions):
            for index in range(RECORDS):
                producer.produce(topic, value=f"t{n}-p{partition}-{index}".encode(), partition=partition, on_delivery=delivered)
        offsets = [TopicPartition(topic, 0, n + 1)]
        send_offsets(producer, offsets, group_metadata)
        producer.flush(60)
        if failures:
            print(f"DELIVERY-FAILED {n} {failures[0]}", flush=True)
            failures.clear()
            commit = False
        if gate is not None and gate[0] == n:
            print(f"GATE {n}", flush=True)
            while not os.path.exists(gate[1]):
                time.sleep(0.01)
        print(f"{'COMMITTING' if commit else 'ABORTING'} {n}", flush=True)
        outcome = end(producer, commit)
        print(f"{outcome} {n}", flush=True)
    print("DONE", flush=True)


def send_offsets(producer, offsets, metadata):
    while True:
        try:
            producer.send_offsets_to_transaction(offsets, metadata, 60)
            return
        except KafkaException as exception:
            if not exception.args[0].retriable():
                raise


def end(producer, commit):
    """Ends the transaction: "COMMITTED" or "ABORTED" once the outcome is final."""
    while True:
        try:
            if commit:
                producer.commit_transaction(60)
                return "COMMITTED"
            producer.abort_transaction(60)
            return "ABORTED"
        except KafkaException as exception:
            error = exception.args[0]
            if error.retriable():
                continue
            if error.txn_requires_abort():
                commit = False
                continue
            print(f"FATAL {error}", flush=True)
            raise


def read(bootstrap, topic, partitions, isolation, group):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"txn-cluster-reader-{isolation}",
        "isolation.level": isolation,
        "enable.partition.eof": True,
        "enable.auto.commit": False,
    })
    consumer.assign([TopicPartition(topic, partition, 0) for partition in range(partitions)])
    at_eof = set()
    while len(at_eof) < partitions:
        message = consumer.poll(15)
        if message is None:
            print(f"FAIL no end of partitions within 15 s (at end: {sorted(at_eof)})", flush=True)
            sys.exit(1)
        if message.error():
            if message.error().code() == -191:  # _PARTITION_EOF
                at_eof.add(message.partition())
                continue
            print(f"FAIL {message.error()}", flush=True)
            sys.exit(1)
        at_eof.discard(message.partition())
        print(f"V {message.value().decode()}", flush=True)
    consumer.close()
    committed = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    print(f"OFFSET {committed.committed([TopicPartition(topic, 0)], 30)[0].offset}", flush=True)
    committed.close()
    print("END", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "produce":
        gate = (int(sys.argv[8]), sys.argv[9]) if len(sys.argv) > 9 else None
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), sys.argv[7], gate)
    elif mode == "read":
        read(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        sys.exit(f"unknown mode {mode}")
