#!/usr/bin/python3
"""A producer for the cluster chaos tests (confluent-kafka-python, librdkafka).

Sends unique values `<name>-<sequence>` to one topic with acks=all and idempotence, at a steady
rate, and writes one JSON line per attempt to the output file as its delivery report arrives:

  {"value": "p1-17", "producer": "p1", "sequence": 17, "kind": "ok", "partition": 2, "offset": 40}
  {"value": "p1-18", ..., "kind": "unknown", "error": "_MSG_TIMED_OUT"}
  {"value": "p1-19", ..., "kind": "failed", "error": "MSG_SIZE_TOO_LARGE"}

An error is "failed" only when the broker definitely refused the record; timeouts, transport
errors and anything else are "unknown" (the record may have been written), as Jepsen treats them.
Runs until --count records were sent or the file named by --stop-file exists, then flushes and
exits 0. Prints "ready" once the first record was acknowledged, and a summary line at the end.
"""

import argparse
import json
import os
import sys
import time

from confluent_kafka import KafkaError, Producer

# Names of librdkafka error codes that mean "the broker refused this record for good".
DEFINITE_FAILURE_NAMES = (
    "MSG_SIZE_TOO_LARGE", "INVALID_RECORD", "TOPIC_AUTHORIZATION_FAILED", "INVALID_MSG",
    "INVALID_REQUIRED_ACKS", "RECORD_LIST_TOO_LARGE", "INVALID_MSG_SIZE",
)
DEFINITE_FAILURES = {getattr(KafkaError, name) for name in DEFINITE_FAILURE_NAMES if hasattr(KafkaError, name)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--count", type=int, default=0, help="stop after this many (0: until --stop-file)")
    parser.add_argument("--stop-file", default="")
    parser.add_argument("--rate", type=float, default=200.0, help="records per second")
    parser.add_argument("--delivery-timeout-ms", type=int, default=60000)
    args = parser.parse_args()

    out = open(args.output, "w", buffering=1)
    counts = {"ok": 0, "failed": 0, "unknown": 0}
    ready = [False]

    def report(sequence: int):
        value = f"{args.name}-{sequence}"
        sent_at = time.monotonic()

        def on_delivery(error, message):
            # latency_ms: from produce() to the delivery report (queueing, retries and the ack).
            line = {"value": value, "producer": args.name, "sequence": sequence, "latency_ms": round((time.monotonic() - sent_at) * 1000, 1)}
            if error is None:
                line.update(kind="ok", partition=message.partition(), offset=message.offset())
                if not ready[0]:
                    ready[0] = True
                    print("ready", flush=True)
            else:
                definite = error.code() in DEFINITE_FAILURES and not error.retriable()
                line.update(kind="failed" if definite else "unknown", error=error.name())
            counts[line["kind"]] += 1
            out.write(json.dumps(line) + "\n")

        return value, on_delivery

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "client.id": f"chaos-{args.name}",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "delivery.timeout.ms": args.delivery_timeout_ms,
        "request.timeout.ms": 5000,
        "retry.backoff.ms": 50,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
        "socket.timeout.ms": 5000,
    })
    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    started = time.monotonic()
    sequence = 0
    while True:
        if args.count and sequence >= args.count:
            break
        if args.stop_file and os.path.exists(args.stop_file):
            break
        value, on_delivery = report(sequence)
        while True:
            try:
                producer.produce(args.topic, value=value.encode(), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        sequence += 1
        producer.poll(0)
        wait = started + sequence * interval - time.monotonic()
        if wait > 0:
            producer.poll(wait)
    left = producer.flush(args.delivery_timeout_ms / 1000 + 5)
    out.close()
    print(f"sent {sequence} ok {counts['ok']} failed {counts['failed']} unknown {counts['unknown']} unflushed {left}", flush=True)
    return 0 if left == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
