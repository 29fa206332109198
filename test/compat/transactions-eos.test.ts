// Exactly once through crashes: the canonical consume–transform–produce loop
// (python/confluent_eos.py: read_committed input, one transaction per batch carrying the output
// records and the consumed offsets) is killed with kill -9 at random points and restarted, several
// times; a checker then reads the output read_committed and proves that every input record appears
// exactly once and that the group's committed offsets are the input's end offsets. The seed of
// the kill points is printed, so a failure can be replayed (EOS_SEED=…).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { spawnLines } from "../../src/testing/processes.ts";
import { run, startBroker, type Broker } from "../helpers/broker.ts";

const python = "/usr/bin/python3";
const script = join(import.meta.dir, "python/confluent_eos.py");
const RECORDS = Number(process.env.EOS_RECORDS ?? 3000);
const KILLS = Number(process.env.EOS_KILLS ?? 4);
let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ set: { "num.partitions": 3, "transaction.state.log.num.partitions": 3, "offsets.topic.num.partitions": 3 } });
});
afterAll(async () => {
  await broker?.stop();
});

/** A small seeded generator (mulberry32): the kill points are reproducible from the seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

test(`consume–transform–produce killed ${KILLS} times at random points: every record exactly once, offsets committed with it`, async () => {
  const seed = Number(process.env.EOS_SEED ?? Date.now() % 1_000_000);
  console.log(`EOS_SEED=${seed}`);
  const random = seeded(seed);
  const [input, output, group] = ["eos-in", "eos-out", "eos-processor"];
  await run([python, script, "fill", broker.bootstrap, input, String(RECORDS)], { timeoutMs: 60000 });
  const args = ["process", broker.bootstrap, input, output, group];
  for (let kill = 0; kill < KILLS; kill++) {
    const processor = spawnLines([python, script, ...args]);
    // Kill after a random number of committed transactions (0–3), plus a random delay into the next.
    const transactions = Math.floor(random() * 4);
    try {
      if (transactions > 0) await processor.waitForLine((line) => line.startsWith("T ") && processor.lines.filter((seen) => seen.startsWith("T ")).length >= transactions);
      else await processor.waitForLine((line) => line.startsWith("T "));
      await Bun.sleep(Math.floor(random() * 40)); // a random point inside the next transaction
    } catch {
      // It finished (DONE) before the kill point: fine, the checker decides.
    }
    await processor.kill9();
  }
  const last = spawnLines([python, script, ...args]);
  await last.waitForLine((line) => line === "DONE");
  await last.exited;
  const { stdout } = await run([python, script, "check", broker.bootstrap, input, output, group, String(RECORDS)], { timeoutMs: 60000 });
  const verdict = new TextDecoder().decode(stdout).trim();
  console.log(verdict);
  expect(verdict).toStartWith(`CHECK ok ${RECORDS} records exactly once`);
}, 240000);
