// `bun scripts/console-screenshots.ts`: the README's screenshots of the web console
// (docs/images/console-*.png), taken from a real broker with some traffic: a broker is started in a
// temporary directory, the Overview page opened in headless Chromium (its graphs sample /metrics
// from then on), `runnel bench` produces and reads back for a few rounds, a consumer group reads
// part of a topic, and the Overview and the group's page are shot. Needs chromium (scripts/setup.sh)
// and kcat. Not part of the test suite (the suite's own screenshots go to tmp/console-screenshots/).

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { spawnLines } from "../src/testing/processes.ts";

const root = join(import.meta.dir, "..");
const output = join(root, "docs", "images");
mkdirSync(output, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), "runnel-screenshots-"));
const broker = spawnLines([process.execPath, join(root, "src/main.ts"), "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0", "--set", "num.partitions=3"], { env: { RUNNEL_LOG_LEVEL: "warn" } });
const runnel = (args: string[]) => Bun.spawnSync([process.execPath, join(root, "src/main.ts"), ...args], { stdout: "ignore", stderr: "ignore" });

try {
  const bootstrap = (await broker.waitForLine((line) => line.startsWith("kafka listening on "))).slice("kafka listening on ".length);
  const http = `http://${(await broker.waitForLine((line) => line.startsWith("http listening on "))).slice("http listening on ".length)}`;
  await broker.waitForLine((line) => line.startsWith("runnel ready"));
  const browser = await puppeteer.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"] });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${http}/ui#/overview`);
    runnel(["topics", "create", "orders", "--partitions", "3", "-b", bootstrap]);
    for (let round = 0; round < 6; round++) {
      runnel(["bench", "-n", "60000", "-s", "512", "-p", "3", "-b", bootstrap]);
      runnel(["produce", "orders", "-b", bootstrap]);
      Bun.spawnSync(["kcat", "-b", bootstrap, "-P", "-t", "orders"], { stdin: new TextEncoder().encode(Array.from({ length: 500 }, (_, index) => JSON.stringify({ order: round * 500 + index, total: index % 97 })).join("\n") + "\n") });
      if (round === 2) runnel(["consume", "orders", "-G", "billing", "-o", "beginning", "-c", "900", "-b", bootstrap]);
      await Bun.sleep(1500); // a screenshot script, not a test: let the graphs gather a few points
    }
    await page.screenshot({ path: join(output, "console-overview.png") });
    await page.goto(`${http}/ui#/messages/orders?partition=1&from=latest`);
    await page.waitForSelector("#records table");
    await page.select("#view-as", "json");
    await page.screenshot({ path: join(output, "console-messages.png") });
    console.log(`wrote ${join(output, "console-overview.png")} and console-messages.png`);
  } finally {
    await browser.close();
  }
} finally {
  broker.process.kill("SIGTERM");
  await broker.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
