"""Transactional vs idempotent produce throughput with confluent-kafka-python (librdkafka).

Usage: confluent-transactions.py --bootstrap H:P --topic T --records N --record-bytes B
                                 --mode idempotent|transactional [--per-transaction K] [--transactional-id ID]

After one untimed warm-up record (producer id, topic metadata), produces N records of B bytes as fast as the Python loop allows (linger.ms 5, acks all, idempotence
on); transactional mode commits every K records. Prints one JSON line: records, seconds, rate,
transactions.
"""
import argparse
import json
import time

from confluent_kafka import Producer

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
parser.add_argument("--topic", required=True)
parser.add_argument("--records", type=int, required=True)
parser.add_argument("--record-bytes", type=int, default=1024)
parser.add_argument("--mode", choices=["idempotent", "transactional"], required=True)
parser.add_argument("--per-transaction", type=int, default=1000)
parser.add_argument("--transactional-id", default="bench-txn")
args = parser.parse_args()

config = {"bootstrap.servers": args.bootstrap, "enable.idempotence": True, "linger.ms": 5, "acks": "all", "queue.buffering.max.messages": 1000000}
if args.mode == "transactional":
    config["transactional.id"] = args.transactional_id
producer = Producer(config)
payload = b"x" * args.record_bytes
failures = []


def delivered(error, _message):
    if error is not None:
        failures.append(str(error))


# Warm-up, not timed: the producer id, the topic's metadata and (transactional) the first
# AddPartitionsToTxn, so that the timed part measures steady-state throughput.
if args.mode == "transactional":
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(args.topic, payload, on_delivery=delivered)
    producer.commit_transaction(30)
else:
    producer.produce(args.topic, payload, on_delivery=delivered)
    producer.flush(30)
transactions = 0
start = time.perf_counter()
if args.mode == "idempotent":
    for index in range(args.records):
        while True:
            try:
                producer.produce(args.topic, payload, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
else:
    for first in range(0, args.records, args.per_transaction):
        producer.begin_transaction()
        for index in range(first, min(args.records, first + args.per_transaction)):
            while True:
                try:
                    producer.produce(args.topic, payload, on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.01)
            producer.poll(0)
        producer.commit_transaction(60)
        transactions += 1
seconds = time.perf_counter() - start
if failures:
    raise SystemExit(f"{len(failures)} failed deliveries, first: {failures[0]}")
print(json.dumps({"records": args.records, "seconds": seconds, "rate": args.records / seconds, "transactions": transactions}))
