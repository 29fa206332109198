// segmentio/kafka-go 0.2.1 from Debian (golang-github-segmentio-kafka-go-dev) against a real broker
// process: a Go program (go/kafkago/main.go) built offline in GOPATH mode with Debian's Go writes
// (Produce v2, message format v1), reads (Fetch v2), seeks, reads lag, lists offsets, runs a
// consumer group and uses every codec it has. This client failed on every write and read before the
// broker served message formats v0/v1 (issue 17). Skipped, with the reason printed, only when Go is
// not installed (scripts/setup.sh installs it, so CI runs it).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, run, startBroker, type Broker } from "../helpers/broker.ts";

const go = Bun.which("go");
const kafkaGoSource = "/usr/share/gocode/src/github.com/segmentio/kafka-go";
const missing = go === null ? "Go is not installed (apt-get install golang-go)" : !existsSync(kafkaGoSource) ? `${kafkaGoSource} is missing (apt-get install golang-github-segmentio-kafka-go-dev)` : null;
if (missing) console.log(`kafka-go test skipped: ${missing}`);

let broker: Broker | undefined;
let binary = "";

beforeAll(async () => {
  if (missing) return;
  const out = join(repoRoot, "tmp", "kafka-go");
  mkdirSync(join(out, "cache"), { recursive: true });
  binary = join(out, "kafkago");
  // GOPATH mode, offline: the library comes from Debian's /usr/share/gocode, nothing is downloaded.
  await run([go!, "build", "-o", binary, "."], {
    cwd: join(import.meta.dir, "go", "kafkago"),
    env: { GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: join(out, "cache"), GOFLAGS: "", GOPROXY: "off", HOME: out },
    timeoutMs: 120000,
  });
  // No initial rebalance delay: the group joins twice in a row.
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": "0" } });
}, 150000);

afterAll(async () => {
  await broker?.stop();
});

test.skipIf(missing !== null)("kafka-go 0.2.1: write, read, seek, lag, offsets, consumer group, every codec", async () => {
  const { stdout } = await run([binary, broker!.bootstrap, "kafkago"], { timeoutMs: 90000 });
  const output = new TextDecoder().decode(stdout);
  for (const codec of ["none", "gzip", "snappy", "lz4"]) {
    expect(output).toContain(`kafkago-${codec}: 200 messages, seek ok, lag 49`);
    expect(output).toContain(`kafkago-${codec}: offsets 0..200, conn seek ok`);
  }
  expect(output).toContain("group: resumed at 100");
  expect(output).toContain("OK");
}, 120000);
