#!/usr/bin/python3
"""Produce through confluent-kafka-python (librdkafka), for `bun run bench real-client`.

Open loop when --rate > 0: record i is due at start + i / rate, latency is measured from that
intended time to the delivery report (no coordinated omission). Flood when --rate = 0: the
client's queue is kept full and acknowledged records per second are counted.

Prints one JSON object on stdout: counts, achieved rate, and (open loop) the measured latencies
in microseconds, which the bench records into its HDR histogram.
"""

import argparse
import json
import os
import sys
import time

from confluent_kafka import Producer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--record-bytes", type=int, default=1024)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--duration-s", type=float, default=4.0)
    parser.add_argument("--warmup-s", type=float, default=1.0)
    parser.add_argument("--acks", default="1")
    parser.add_argument("--linger-ms", type=int, default=2)
    parser.add_argument("--batch-bytes", type=int, default=16384)
    parser.add_argument("--compression", default="none")
    parser.add_argument("--set", action="append", default=[], help="a librdkafka setting KEY=VALUE (security.protocol, sasl.*, ssl.*)")
    args = parser.parse_args()
    extra = dict(pair.split("=", 1) for pair in args.set)

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": args.acks,
        "linger.ms": args.linger_ms,
        "batch.size": args.batch_bytes,
        "compression.type": args.compression,
        "queue.buffering.max.messages": 1000000,
        "queue.buffering.max.kbytes": 1048576,
        "enable.idempotence": False,
        **extra,
    })
    payload = os.urandom(args.record_bytes)
    state = {"acked": 0, "failed": 0, "measured_acked": 0, "last_ack": 0.0, "first_error": None}
    latencies = []
    total_s = args.duration_s + args.warmup_s
    start = time.perf_counter() + 0.05
    measure_from = start + args.warmup_s

    def on_delivery_factory(intended):
        def on_delivery(error, _message):
            now = time.perf_counter()
            if error is not None:
                state["failed"] += 1
                if state["first_error"] is None:
                    state["first_error"] = str(error)
                return
            state["acked"] += 1
            if intended >= measure_from:
                state["measured_acked"] += 1
                state["last_ack"] = max(state["last_ack"], now)
                if args.rate > 0:
                    latencies.append(int((now - intended) * 1_000_000))
        return on_delivery

    def flood_delivery(error, _message):
        # One shared callback (no per-record closure): counts acks inside the measured window.
        now = time.perf_counter()
        if error is not None:
            state["failed"] += 1
            if state["first_error"] is None:
                state["first_error"] = str(error)
            return
        state["acked"] += 1
        if measure_from <= now <= start + total_s:
            state["measured_acked"] += 1

    # Wait for metadata before the clock starts, as the bench's own producer does.
    producer.list_topics(args.topic, timeout=10)
    sent = 0
    if args.rate > 0:
        interval = 1.0 / args.rate
        total = int(total_s * args.rate)
        while sent < total:
            now = time.perf_counter()
            due = min(total, int((now - start) / interval) + 1) if now >= start else 0
            while sent < due:
                intended = start + sent * interval
                try:
                    producer.produce(args.topic, payload, on_delivery=on_delivery_factory(intended))
                    sent += 1
                except BufferError:
                    producer.poll(0.001)
            producer.poll(0)
            wait = start + sent * interval - time.perf_counter()
            if wait > 0:
                time.sleep(min(wait, 0.001))
    else:
        end = start + total_s
        while time.perf_counter() < end:
            try:
                producer.produce(args.topic, payload, on_delivery=flood_delivery)
                sent += 1
            except BufferError:
                producer.poll(0.001)
            if sent % 1000 == 0:
                producer.poll(0)
    remaining = producer.flush(30)
    end_of_schedule = start + total_s
    if args.rate > 0:
        window = max(state["last_ack"], end_of_schedule) - measure_from
    else:
        window = args.duration_s
    result = {
        "sent": sent,
        "acked": state["acked"],
        "failed": state["failed"] + remaining,
        "firstError": state["first_error"],
        "measuredAcked": state["measured_acked"],
        "achievedRate": state["measured_acked"] / window if window > 0 else 0,
        "latenciesUs": latencies,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
