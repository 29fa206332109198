// A child process for the crash tests (test/storage/crash.test.ts): opens (and so recovers) the
// partition log in --dir and appends workload batches in a loop until it is killed, printing one
// line per acknowledged batch:
//
//   ready <logEndOffset>                  after the log was opened
//   ack <batchNumber> <baseOffset>        after append resolved (--ack appended) or after the
//                                         append's durable promise resolved (--ack durable)
//
// Batch n carries batch number n (src/testing/record-batches.ts), starting at --first-batch, so the
// test can regenerate every byte. With --ack durable, up to --in-flight appends await durability at
// once (group commit). Not a test file: `bun test` does not pick it up (no .test. in the name).

import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { openTestLog, openTestManager, workloadBatch, type WorkloadShape } from "../../src/testing/log-harness.ts";

const { values } = parseArgs({
  options: {
    dir: { type: "string" },
    ack: { type: "string", default: "appended" },
    "first-batch": { type: "string", default: "0" },
    "flush-messages": { type: "string" },
    "segment-bytes": { type: "string", default: "262144" },
    records: { type: "string", default: "8" },
    "value-bytes": { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    "in-flight": { type: "string", default: "8" },
    "max-batches": { type: "string", default: "1000000" },
    // Open through the LogManager (data directory = --dir, partition crash-0), with recovery
    // checkpoints written every --checkpoint-ms in the background, as the broker does.
    manager: { type: "boolean", default: false },
    "checkpoint-ms": { type: "string", default: "20" },
  },
});

const directory = values.dir;
if (!directory) throw new Error("--dir is required");
const ackMode = values.ack;
if (ackMode !== "appended" && ackMode !== "durable") throw new Error(`--ack must be appended or durable, got ${ackMode}`);
const shape: WorkloadShape = { recordCount: Number(values.records), valueBytes: Number(values["value-bytes"]), seed: Number(values.seed) };
const inFlightMax = Number(values["in-flight"]);
const batchesMax = Number(values["max-batches"]);

const config = {
  "segment.bytes": Number(values["segment-bytes"]),
  ...(values["flush-messages"] ? { "flush.messages": Number(values["flush-messages"]) } : {}),
};
const log = values.manager
  ? await openTestManager(directory, config, Number(values["checkpoint-ms"]))
  : await openTestLog({ directory, config });

// Lines go out with a synchronous write so that a printed ack really left the process before the
// next append starts (a kill can still drop an ack that was never printed: that is allowed).
function say(line: string): void {
  writeSync(1, line + "\n");
}

say(`ready ${log.logEndOffset}`);

let batchNumber = Number(values["first-batch"]);
const lastBatch = batchNumber + batchesMax;
const inFlight = new Set<Promise<void>>();
while (batchNumber < lastBatch) {
  const number = batchNumber++;
  const result = await log.append(workloadBatch(shape, number));
  if (ackMode === "appended") {
    say(`ack ${number} ${result.baseOffset}`);
    // Let timers and I/O callbacks run now and then, as a broker's event loop would.
    if (number % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    continue;
  }
  const waiting: Promise<void> = result.durable.then(() => {
    inFlight.delete(waiting);
    say(`ack ${number} ${result.baseOffset}`);
  });
  inFlight.add(waiting);
  if (inFlight.size >= inFlightMax) await Promise.race(inFlight);
}
await Promise.all(inFlight);
await log.close();
say("done");
