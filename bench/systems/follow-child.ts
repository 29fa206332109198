// The end-to-end consumer process. Protocol on stdin/stdout, one line each:
//   argv[2] = FollowSpec JSON            → prints "ready" once connected
//   stdin  "schedule <json>"             ← the trial's schedule (start, rate, duration, warm-up)
//   stdin  "stop <ackedMeasured>"        ← producing is over; wait (≤ 5 s) until that many
//                                          measured records were consumed, then
//   stdout "result <consumed> <base64>"  → the end-to-end HDR histogram (µs), compressed
// Latency is taken from each record's intended send time, recomputed from the schedule; both
// processes read the same system clock (performance.timeOrigin + performance.now()).

import { LatencyHistogram } from "../lib/histogram.ts";
import { nowMs } from "../lib/open-loop.ts";
import { OpenLoopSchedule } from "../lib/schedule.ts";
import { follower } from "./follow.ts";
import type { FollowSpec } from "./follow.ts";

const spec = JSON.parse(process.argv[2] ?? "{}") as FollowSpec;
const histogram = new LatencyHistogram();
let schedule: OpenLoopSchedule | null = null;
let consumed = 0;
const early: Array<[number, number]> = [];
const seen = new Set<number>();

function record(index: number, seenMs: number): void {
  if (schedule === null) {
    early.push([index, seenMs]);
    return;
  }
  if (!Number.isInteger(index) || index < 0 || index >= schedule.recordsTotal || !schedule.isMeasured(index)) return;
  if (seen.has(index)) return; // a redelivery is not a second arrival
  seen.add(index);
  consumed += 1;
  histogram.recordMs(Math.max(0, seenMs - schedule.intendedMs(index)));
}

const consumer = follower(spec);
await consumer.start(record);
console.log("ready");

for await (const line of console) {
  const [command, argument] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)];
  if (command === "schedule") {
    schedule = new OpenLoopSchedule(JSON.parse(argument));
    for (const [index, seenMs] of early.splice(0)) record(index, seenMs);
  } else if (command === "stop") {
    const expected = Number(argument);
    // Wait for the expected count, but not past 5 s, nor past 1 s without progress (a member's
    // share of the partitions may hold slightly fewer records than the even split).
    const deadline = nowMs() + 5000;
    let last = consumed;
    let lastProgressMs = nowMs();
    while (consumed < expected && nowMs() < deadline && nowMs() - lastProgressMs < 1000) {
      await Bun.sleep(5);
      if (consumed !== last) {
        last = consumed;
        lastProgressMs = nowMs();
      }
    }
    await consumer.stop();
    console.log(`result ${consumed} ${histogram.encode()}`);
    process.exit(0);
  }
}
