// kcat (librdkafka 2.0.2) against a real broker process: 100,000 records produced from a file and
// consumed back byte-exact across a broker restart; consuming from a timestamp (-o s@<ms>); the
// metadata listing (-L -J).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  // Small segments: fetches cross segment boundaries (responses of several log views).
  broker = await startBroker({ set: { "num.partitions": 1, "log.segment.bytes": 1048576 } });
});
afterAll(async () => {
  await broker?.stop();
});

const kcat = (args: string[], stdin?: Uint8Array | string) =>
  run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", ...args], { stdin, timeoutMs: 60000 });

test("100,000 records from a file, consumed back byte-exact after a restart", async () => {
  const lines: string[] = [];
  for (let index = 0; index < 100_000; index++) lines.push(`record-${index.toString().padStart(6, "0")}-${"abcdefghij".repeat(index % 7)}`);
  const text = lines.join("\n") + "\n";
  const directory = mkdtempSync(join(tmpdir(), "runnel-kcat-"));
  const file = join(directory, "input.txt");
  writeFileSync(file, text);
  try {
    await kcat(["-P", "-t", "kcat-bulk", "-l", file, "-X", "linger.ms=5"]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  await broker.restart();
  const { stdout } = await kcat(["-C", "-t", "kcat-bulk", "-e", "-o", "beginning", "-q", "-f", "%s\n"]);
  const consumed = new TextDecoder().decode(stdout);
  expect(consumed.length).toBe(text.length);
  expect(consumed === text).toBe(true);
}, 90000);

test("consume from a timestamp with -o s@<ms>", async () => {
  await kcat(["-P", "-t", "kcat-time"], "old-1\nold-2\nold-3\n");
  // Every record produced after this instant has a timestamp >= cut (CreateTime from the client).
  const cut = Date.now() + 1;
  while (Date.now() <= cut) await Bun.sleep(1);
  await kcat(["-P", "-t", "kcat-time"], "new-1\nnew-2\n");
  const { stdout } = await kcat(["-C", "-t", "kcat-time", "-e", "-q", "-o", `s@${cut}`, "-f", "%s\n"]);
  expect(new TextDecoder().decode(stdout)).toBe("new-1\nnew-2\n");
}, 60000);

test("metadata listing (-L) names the broker, the controller and every topic's partitions", async () => {
  await run(["kcat", "-b", broker.bootstrap, "-P", "-t", "kcat-listed", "-p", "0"], { stdin: "x\n" });
  const { stdout } = await kcat(["-L", "-J"]);
  const metadata = JSON.parse(new TextDecoder().decode(stdout));
  expect(metadata.brokers).toEqual([{ id: 1, name: `${broker.host}:${broker.port}` }]);
  expect(metadata.controllerid).toBe(1);
  const listed = metadata.topics.find((topic: { topic: string }) => topic.topic === "kcat-listed");
  expect(listed.partitions).toEqual([{ partition: 0, leader: 1, replicas: [{ id: 1 }], isrs: [{ id: 1 }] }]);
  const text = new TextDecoder().decode((await kcat(["-L"])).stdout);
  expect(text).toContain("broker 1 at");
  expect(text).toContain('topic "kcat-bulk" with 1 partitions');
});
