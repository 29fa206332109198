// A child process for test/storage/transaction-index-crash.test.ts: opens (and so recovers) the
// partition log in --dir and writes transactions of three producers until it is killed, in epoch
// --epoch (a new one per run, so that sequences restart at 0). It first aborts whatever the
// previous run left open, as a coordinator would. One line per acknowledged append:
//
//   ready <logEndOffset>
//   data <producerId> <baseOffset>
//   abort <producerId> <markerOffset> | commit <producerId> <markerOffset>
//
// Not a test file: `bun test` does not pick it up (no .test. in the name).

import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadBrokerConfig, topicDefaults } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { Attribute, ControlType, buildMarkerBatch } from "../../src/protocol/record-batch.ts";
import { openPartitionLog } from "../../src/storage/index.ts";
import { PartitionProducerState } from "../../src/storage/producer-state.ts";
import { simpleBatch } from "./batches.ts";

const { values } = parseArgs({ options: { dir: { type: "string" }, epoch: { type: "string", default: "0" }, seed: { type: "string", default: "1" } } });
if (!values.dir) throw new Error("--dir is required");
const epoch = Number(values.epoch);
let seed = Number(values.seed) * 7919 + epoch;
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const say = (line: string) => writeSync(1, `${line}\n`);
const config = { ...topicDefaults(loadBrokerConfig().values), "segment.bytes": 2048 };
const log = await openPartitionLog({ dataDir: values.dir, topic: "txn", partition: 0, config, native, producerState: new PartitionProducerState() });
say(`ready ${log.logEndOffset}`);

const producers = [10n, 11n, 12n];
const sequences = new Map<bigint, number>();
const end = async (producerId: bigint, type: 0 | 1) => {
  const marker = buildMarkerBatch({ producerId, producerEpoch: epoch, type, coordinatorEpoch: 0, timestampMs: Date.now() });
  const result = await log.append(marker, { origin: "coordinator" });
  say(`${type === ControlType.abort ? "abort" : "commit"} ${producerId} ${result.baseOffset}`);
};
for (const producerId of producers) if (log.hasOngoingTransaction(producerId)) await end(producerId, ControlType.abort);
const open = new Set<bigint>();
for (;;) {
  const producerId = producers[Math.floor(random() * producers.length)]!;
  if (open.has(producerId) && random() < 0.35) {
    await end(producerId, random() < 0.6 ? ControlType.abort : ControlType.commit);
    open.delete(producerId);
    continue;
  }
  const sequence = sequences.get(producerId) ?? 0;
  sequences.set(producerId, sequence + 2);
  const batch = simpleBatch(native, 2, { producerId, producerEpoch: epoch, baseSequence: sequence, attributes: Attribute.transactional, valueBytes: 60 });
  const result = await log.append(batch);
  open.add(producerId);
  say(`data ${producerId} ${result.baseOffset}`);
  // Yield to the event loop now and then, so that group commits and rolls' background work run.
  if (random() < 0.2) await new Promise((resolve) => setTimeout(resolve, 0));
}
