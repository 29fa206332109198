#!/usr/bin/python3
"""librdkafka's in-process mock Kafka cluster (C, in memory), as a peer for `bun run bench peers`.

A confluent-kafka-python client started with test.mock.num.brokers=1 runs the mock cluster inside
this process. Its bootstrap address is printed by librdkafka with debug=mock; that debug setting
also logs every request the mock serves (which would slow the peer down), so the address is taken
from the listening socket this process owns instead, found through `ss -ltnp`, and printed on
stdout as one line `127.0.0.1:PORT`. Runs until it is killed (SIGTERM).
"""

import os
import re
import subprocess
import sys
import time

from confluent_kafka import Producer


def listening_ports(pid: int) -> list:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    ports = []
    for line in out.splitlines():
        if f"pid={pid}," in line:
            match = re.search(r"127\.0\.0\.1:(\d+)", line)
            if match:
                ports.append(int(match.group(1)))
    return ports


def main() -> int:
    producer = Producer({"test.mock.num.brokers": 1, "bootstrap.servers": "", "log_level": 3})
    deadline = time.time() + 10
    ports = []
    while not ports and time.time() < deadline:
        producer.poll(0.05)
        ports = listening_ports(os.getpid())
    if not ports:
        print("no mock broker port found", file=sys.stderr)
        return 1
    print(f"127.0.0.1:{ports[0]}", flush=True)
    while True:
        producer.poll(1.0)


if __name__ == "__main__":
    sys.exit(main())
