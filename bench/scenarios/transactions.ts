// Scenario "transactions": transactional produce throughput next to idempotent produce, in the same
// run against the same broker, with the same client (confluent-kafka-python / librdkafka, a
// subprocess): idempotent, transactions of 1,000 records and transactions of 100 records, rounds
// interleaved so that machine load hits each alike. Reports records/s (median and range of the
// runs) and the ratio to idempotent (issue 14's target: ≥ 0.8× at 1,000 records per transaction),
// with the load average before and after.

import { join } from "node:path";
import { formatNumber, formatSpread, table } from "../lib/markdown.ts";
import { machineInfo } from "../lib/machine.ts";
import { trackChild } from "../lib/process.ts";
import { Report } from "../lib/report.ts";
import { spread } from "../lib/stats.ts";
import { createTopic } from "../kafka/broker.ts";
import { startRunnel } from "../systems/kafka.ts";
import { trialName } from "../systems/types.ts";
import type { Scenario } from "./common.ts";
import { isUnavailable, tryStart } from "./common.ts";
import { pythonPath } from "./real-client.ts";

const script = join(import.meta.dir, "../clients/confluent-transactions.py");

interface ClientResult {
  records: number;
  seconds: number;
  rate: number;
  transactions: number;
}

async function runClient(args: string[]): Promise<ClientResult> {
  const child = Bun.spawn([pythonPath, script, ...args], { stdout: "pipe", stderr: "pipe" });
  trackChild(child);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`confluent-transactions.py exited ${code}: ${stderr.slice(-800)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as ClientResult;
}

const modes = [
  { label: "idempotent", args: ["--mode", "idempotent"] },
  { label: "transactional, 1,000 records per transaction", args: ["--mode", "transactional", "--per-transaction", "1000"] },
  { label: "transactional, 100 records per transaction", args: ["--mode", "transactional", "--per-transaction", "100"] },
];

export const transactionsScenario: Scenario = {
  name: "transactions",
  title: "Transactions: transactional vs idempotent produce throughput (librdkafka)",
  description: "confluent-kafka-python: idempotent vs commit every 1,000 and every 100 records, same run",
  async run(context) {
    const params = context.params;
    const report = new Report("transactions", this.title, params);
    const runnel = await tryStart(() => startRunnel({ name: "Runnel", params, crc32c: context.crc32c }));
    if (isUnavailable(runnel)) {
      report.section("Runnel", `Not measured — ${runnel.unavailable}\n`);
      return report;
    }
    const loadBefore = machineInfo().loadAverage;
    const records = Math.max(10000, Math.round(params.durationMs * 20));
    const rates: number[][] = modes.map(() => []);
    try {
      for (let run = 0; run < params.runs; run++) {
        for (const [index, mode] of modes.entries()) {
          const topic = trialName("bench-txn", `${index}-${run}`);
          await createTopic(runnel.broker, topic, params.partitions);
          const result = await runClient([
            "--bootstrap", `${runnel.broker.host}:${runnel.broker.port}`, "--topic", topic, "--records", String(records),
            "--record-bytes", String(params.recordBytes), "--transactional-id", `bench-${index}-${run}`, ...mode.args,
          ]);
          rates[index]!.push(result.rate);
          context.log(`  ${mode.label} run ${run + 1}: ${Math.round(result.rate)} records/s (${result.transactions} transactions)`);
        }
      }
    } finally {
      await runnel.stop();
    }
    const loadAfter = machineInfo().loadAverage;
    const baseline = spread(rates[0]!);
    const rows = modes.map((mode, index) => {
      const rate = spread(rates[index]!);
      return [mode.label, formatSpread(rate, (value) => formatNumber(value)), `${(rate.median / baseline.median).toFixed(2)}×`];
    });
    report.section(
      "Throughput (closed loop, one producer)",
      table(["producer", "records/s", "vs idempotent"], rows) +
        `\n${records} records of ${params.recordBytes} B per run, ${params.partitions} partition(s), acks=all, linger.ms=5; ${params.runs} rounds, modes interleaved. Load average before ${loadBefore}, after ${loadAfter} (2 shared CPUs).\n`,
    );
    report.figure("rates", Object.fromEntries(modes.map((mode, index) => [mode.label, rates[index]])));
    const ratio = (index: number) => (spread(rates[index]!).median / baseline.median).toFixed(2);
    context.headlines.push(`transactions (librdkafka): 1,000 records per transaction ${ratio(1)}× idempotent, 100 per transaction ${ratio(2)}× (load ${loadBefore})`);
    return report;
  },
};
