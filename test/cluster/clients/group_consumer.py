#!/usr/bin/python3
"""A group consumer for the cluster tests (confluent-kafka-python, librdkafka).

Subscribes to one topic in a consumer group (auto-committed offsets, from the earliest offset) and
writes one JSON line per record consumed to the output file:

  {"partition": 2, "offset": 40, "value": "p1-17"}

Prints "ready" once it has been assigned partitions. Runs until the file named by --stop-file
exists and nothing arrived for --idle-seconds, then closes (leaving the group) and exits 0, printing
how many records it read and how many errors the client reported (all retriable ones are logged,
not fatal).
"""

import argparse
import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--idle-seconds", type=float, default=2.0)
    args = parser.parse_args()

    out = open(args.output, "w", buffering=1)
    errors = {"count": 0}
    ready = [False]

    def on_error(error):
        errors["count"] += 1

    def on_assign(consumer, partitions):
        if not ready[0] and partitions:
            ready[0] = True
            print("ready", flush=True)

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": f"group-{args.group}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 500,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 1000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "topic.metadata.refresh.interval.ms": 1000,
        "error_cb": on_error,
    })
    consumer.subscribe([args.topic], on_assign=on_assign)
    read = 0
    last_record = time.monotonic()
    while True:
        message = consumer.poll(0.2)
        if message is not None:
            if message.error():
                if message.error().code() != KafkaError._PARTITION_EOF:
                    errors["count"] += 1
                continue
            out.write(json.dumps({"partition": message.partition(), "offset": message.offset(), "value": message.value().decode()}) + "\n")
            read += 1
            last_record = time.monotonic()
            continue
        if os.path.exists(args.stop_file) and time.monotonic() - last_record >= args.idle_seconds:
            break
    consumer.close()
    out.close()
    print(f"read {read} errors {errors['count']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
