// `bun run bench <scenario> [--flag=value …]`: runs a scenario and writes its results under
// bench/results/. With no scenario, lists them. See bench/README.md.

import { loadCrc32c } from "./kafka/crc32c.ts";
import { defaultParams, parseParams } from "./lib/params.ts";
import type { ScenarioContext, Scenario } from "./scenarios/common.ts";
import { floorsScenario } from "./scenarios/floors.ts";
import { produceScenario } from "./scenarios/produce.ts";
import { maxRateScenario } from "./scenarios/max-rate.ts";
import { durableScenario } from "./scenarios/durable.ts";
import { partitionsScenario } from "./scenarios/partitions.ts";
import { fetchScenario } from "./scenarios/fetch.ts";
import { realClientScenario } from "./scenarios/real-client.ts";
import { startupScenario } from "./scenarios/startup.ts";
import { httpScenario } from "./scenarios/http.ts";
import { peersScenario } from "./scenarios/peers.ts";
import { quickScenario } from "./scenarios/quick.ts";
import { securityScenario } from "./scenarios/security.ts";
import { transactionsScenario } from "./scenarios/transactions.ts";
import { replicationScenario } from "./scenarios/replication.ts";

export const scenarios: Scenario[] = [floorsScenario, produceScenario, maxRateScenario, durableScenario, partitionsScenario, fetchScenario, realClientScenario, startupScenario, httpScenario, peersScenario, quickScenario, securityScenario, transactionsScenario, replicationScenario];

function usage(): string {
  const flags = Object.entries(defaultParams)
    .map(([key, value]) => `  --${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}=${value}`)
    .join("\n");
  return [
    "usage: bun run bench <scenario> [--flag=value …]   (flags also as BENCH_<FLAG>=value)",
    "",
    "scenarios:",
    ...scenarios.map((scenario) => `  ${scenario.name.padEnd(12)} ${scenario.description}`),
    `  ${"all".padEnd(12)} every scenario above, then bench/results/summary.md`,
    "",
    "flags (defaults):",
    flags,
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseParams(argv, process.env);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    return 2;
  }
  const [name] = parsed.rest;
  if (!name) {
    console.log(usage());
    return 0;
  }
  const selected = name === "all" ? scenarios : scenarios.filter((scenario) => scenario.name === name);
  if (selected.length === 0) {
    console.error(`bench: unknown scenario "${name}"\n\n${usage()}`);
    return 2;
  }
  const { crc32c, source } = await loadCrc32c();
  const context: ScenarioContext = { params: parsed.params, crc32c, crcSource: source, log: (line) => console.log(line), headlines: [] };
  let failures = 0;
  for (const scenario of selected) {
    console.log(`== ${scenario.name}: ${scenario.title}`);
    try {
      const report = await scenario.run(context);
      for (const path of report.write()) console.log(`  wrote ${path}`);
    } catch (error) {
      failures += 1;
      console.error(`  ${scenario.name} failed: ${(error as Error).stack ?? error}`);
    }
  }
  if (name === "all") {
    const { writeSummary } = await import("./lib/summary.ts");
    console.log(`  wrote ${writeSummary(context)}`);
  }
  // Each system removes its own directory under bench/results/tmp/ when it stops; the folder
  // itself may be shared with other benches running at the same time, so it is left alone.
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
