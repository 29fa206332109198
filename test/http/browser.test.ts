// A real browser on the live stream: headless Chromium (Debian's chromium package, driven by
// puppeteer-core, which never downloads a browser) opens an EventSource on a topic's SSE stream,
// kcat produces records over the Kafka protocol, and the page sees them, values intact, with event
// ids that carry the next offset per partition. Skipped (with a message) only where chromium is not
// installed; scripts/setup.sh installs it.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, startBroker, type Broker } from "../helpers/broker.ts";
import { clusterIdOf } from "./helpers.ts";

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ set: { "num.partitions": 2 } });
});
afterAll(async () => {
  await broker?.stop();
});

test.skipIf(!chromium)("headless Chromium's EventSource sees records produced by kcat", async () => {
  const { default: puppeteer } = await import("puppeteer-core");
  const base = broker.httpUrl;
  const clusterId = await clusterIdOf(base);
  const created = await fetch(`${base}/v3/clusters/${clusterId}/topics`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"topic_name":"browser","partitions_count":2}' });
  expect(created.status).toBe(201);
  const profile = mkdtempSync(join(tmpdir(), "runnel-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage();
    // Same origin as the stream: no CORS involved.
    await page.goto(`${base}/healthz`);
    await page.evaluate((path: string) => {
      const state = { open: false, records: [] as { value: string; partition: number; offset: number; id: string }[] };
      (globalThis as any).runnel = state;
      const source = new (globalThis as any).EventSource(path) as EventTarget & { onopen: () => void };
      source.onopen = () => (state.open = true);
      source.addEventListener("record", (event: Event) => {
        const message = event as MessageEvent;
        const record = JSON.parse(message.data);
        state.records.push({ value: record.value.data, partition: record.partition_id, offset: record.offset, id: message.lastEventId });
      });
    }, `/v3/clusters/${clusterId}/topics/browser/stream?from=latest&value_format=string`);
    await page.waitForFunction(() => (globalThis as any).runnel.open === true, { timeout: 10000 });

    const values = ["héllo from kcat", "second", "third ✓"];
    await run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", "-P", "-t", "browser", "-p", "1"], { stdin: values.join("\n") + "\n", timeoutMs: 30000 });
    await page.waitForFunction((count: number) => (globalThis as any).runnel.records.length >= count, { timeout: 15000 }, values.length);
    const seen = (await page.evaluate(() => (globalThis as any).runnel.records)) as { value: string; partition: number; offset: number; id: string }[];
    expect(seen.map((record) => record.value)).toEqual(values);
    expect(seen.map((record) => record.partition)).toEqual([1, 1, 1]);
    expect(seen.map((record) => record.offset)).toEqual([0, 1, 2]);
    // The event id after the last record: partition 1 continues at 3 (the resume point on reconnect).
    expect(seen[2]!.id).toBe("0=0,1=3");
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}, 60000);
