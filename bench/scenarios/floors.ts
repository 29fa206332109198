// Scenario "floors": the hardware's limits, measured the way the systems are used.

import { formatMs, formatNumber, formatSpread, table } from "../lib/markdown.ts";
import { Report } from "../lib/report.ts";
import type { Scenario } from "./common.ts";
import { measureFloors } from "./common.ts";

const mb = (value: number) => formatNumber(value / 1e6);

export const floorsScenario: Scenario = {
  name: "floors",
  title: "Physical floors: TCP loopback and sequential disk writes",
  description: "raw TCP loopback throughput and one-in-flight RTT between two Bun processes; sequential write bandwidth with and without fdatasync",
  async run(context) {
    const report = new Report("floors", this.title, context.params);
    const floors = await measureFloors(context);
    const disk = floors.disk[0]!;
    report.section(
      "TCP loopback (two Bun processes)",
      table(
        ["measure", "value"],
        [
          [`bulk throughput (${formatNumber(context.params.tcpBytes / 2 ** 20)} MiB in 256 KiB writes)`, `${formatSpread(floors.tcpBytesPerSecond, mb)} MB/s`],
          ["round trip, 64-byte message, one in flight: p50", `${formatMs(floors.tcpRoundTrip.p50Us)} ms`],
          ["… p99 / p99.9 / max", `${formatMs(floors.tcpRoundTrip.p99Us)} / ${formatMs(floors.tcpRoundTrip.p999Us)} / ${formatMs(floors.tcpRoundTrip.maxUs)} ms`],
        ],
      ),
    );
    report.section(
      "Sequential disk writes (same filesystem as the broker's data)",
      table(
        ["measure", "MB/s"],
        [
          [`${formatNumber(context.params.diskBytes / 2 ** 20)} MiB in 1 MiB writes, no sync (page cache)`, formatSpread(floors.diskNoSync, mb)],
          ["same, with a final fdatasync (the device's streaming bandwidth)", formatSpread(floors.diskFinalSync, mb)],
          [`group-commit pattern: ${disk.groupCommitChunkBytes / 1024} KiB write + fdatasync, repeated`, formatSpread(floors.diskGroupCommit, mb)],
        ],
      ) + `\nfdatasync latency in the group-commit loop: p50 ${formatMs(disk.groupCommitSync.p50Us)} ms, p99 ${formatMs(disk.groupCommitSync.p99Us)} ms, max ${formatMs(disk.groupCommitSync.maxUs)} ms.\n`,
    );
    report.figure("floors", floors);
    context.headlines.push(`TCP loopback ${formatSpread(floors.tcpBytesPerSecond, mb)} MB/s, RTT p50 ${formatMs(floors.tcpRoundTrip.p50Us)} ms; disk ${formatSpread(floors.diskFinalSync, mb)} MB/s with final fdatasync`);
    return report;
  },
};
