// The web console in a real browser: headless Chromium (Debian's chromium package, driven by
// puppeteer-core, which never downloads a browser) against a real broker process. One browser for
// the whole file. It checks that every page (a partition's too) loads without console errors (screenshots of each go to
// tmp/console-screenshots/, gitignored), that the keyboard alone reaches every page, that a record
// produced with kcat appears in the live tail, that a topic created in the UI shows in `kcat -L`,
// that a config change and a deletion go through their confirmations, and that the lag shown for a
// librdkafka group is what kafkajs' OffsetFetch and ListOffsets give, with DescribeGroups' members;
// then an offsets reset, dry run first. Skipped (with a message) only where chromium is missing;
// scripts/setup.sh installs it.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kafka, logLevel, type Admin } from "kafkajs";
import type { Browser, Page } from "puppeteer-core";
import { spawnLines } from "../../src/testing/processes.ts";
import { repoRoot, run, startBroker, type Broker } from "../helpers/broker.ts";
import { clusterIdOf, eventually } from "./helpers.ts";

// The callbacks given to page.evaluate and friends run in the browser; the suite is type-checked
// without the DOM's types, so these names are declared here, for this file only.
declare const document: any, window: any, location: any, getComputedStyle: any;
type HTMLElement = any;
type HTMLImageElement = any;
type HTMLInputElement = any;

const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
if (!chromium) console.warn("console browser tests skipped: chromium is not installed (scripts/setup.sh installs it)");
const screenshots = join(repoRoot, "tmp", "console-screenshots");

let broker: Broker;
let browser: Browser;
let page: Page;
let profile: string;
let base: string;
let clusterId: string;
let admin: Admin;
/** Console errors and uncaught page errors since the last reset. */
const problems: string[] = [];

beforeAll(async () => {
  broker = await startBroker({ set: { "num.partitions": 2, "group.initial.rebalance.delay.ms": 0 } });
  base = broker.httpUrl;
  clusterId = await clusterIdOf(base);
  admin = new Kafka({ clientId: "console-test", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  if (!chromium) return;
  mkdirSync(screenshots, { recursive: true });
  const { default: puppeteer } = await import("puppeteer-core");
  profile = mkdtempSync(join(tmpdir(), "runnel-console-chromium-"));
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await newPage({ width: 1280, height: 860 });
}, 60000);

/** A tab whose console errors and uncaught errors are collected in `problems`. */
async function newPage(viewport: { width: number; height: number; isMobile?: boolean }): Promise<Page> {
  const tab = await browser.newPage();
  await tab.setViewport(viewport);
  tab.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()} (${message.location()?.url ?? ""})`);
  });
  tab.on("pageerror", (error) => problems.push(`page error: ${(error as Error).message}`));
  return tab;
}

afterAll(async () => {
  await admin?.disconnect();
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await broker?.stop();
});

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${base}/v3/clusters/${clusterId}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function kcatProduce(topic: string, lines: string[], partition?: number): Promise<void> {
  await run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", "-P", "-t", topic, ...(partition === undefined ? [] : ["-p", String(partition)])], { stdin: lines.join("\n") + "\n", timeoutMs: 30000 });
}

let visits = 0;

/**
 * Load the console afresh on a page and wait until `ready` (a selector) is drawn. The query string
 * makes every visit a new document: a goto that only changes the fragment (or repeats the URL)
 * could leave the old document's elements to be found while the new one loads.
 */
async function open(hash: string, ready: string): Promise<void> {
  await page.goto(`${base}/ui?visit=${++visits}${hash}`, { waitUntil: "load" });
  await page.waitForSelector(ready, { timeout: 15000 });
}

async function screenshot(name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

async function text(selector: string): Promise<string> {
  return page.$eval(selector, (element) => element.textContent ?? "");
}

/** Waits until the element's text contains `expected` (the console refreshes on its own). */
async function waitForText(selector: string, expected: string, timeout = 15000): Promise<void> {
  await page.waitForFunction((sel: string, want: string) => document.querySelector(sel)?.textContent?.includes(want) ?? false, { timeout }, selector, expected);
}

test.skipIf(!chromium)("every page loads without console errors (screenshots in tmp/console-screenshots)", async () => {
  expect((await api("POST", "/topics", { topic_name: "orders", partitions_count: 3, configs: [{ name: "retention.ms", value: "86400000" }] })).status).toBe(201);
  await kcatProduce("orders", ['{"id":1,"total":42.5,"items":["tea","milk"]}', '{"id":2,"total":7}', "plain text ✓"], 0);
  problems.length = 0;
  const pages: [string, string, string, (() => Promise<void>)?][] = [
    ["overview", "#/overview", ".cards", async () => {
      expect(await text(".cards")).toContain("Brokers1");
      await page.waitForFunction(() => document.querySelectorAll(".chart polyline").length === 4 && document.querySelector(".chart polyline")!.getAttribute("points") !== "", { timeout: 15000 });
    }],
    ["topics", "#/topics", "table", async () => {
      expect(await text("main table")).toContain("orders");
      await waitForText("main table", "retention.ms=86400000"); // its config override
    }],
    ["topic", "#/topics/orders", "section[aria-label=Configs] table", async () => {
      expect(await text("main")).toContain("retention.ms");
      expect(await text("main")).toContain("DYNAMIC_TOPIC_CONFIG");
    }],
    ["partition", "#/topics/orders/0", "section[aria-label='Latest records'] table", async () => {
      expect(await text("section[aria-label=Partition]")).toContain("High watermark3");
      expect(await text("section[aria-label='Latest records']")).toContain("plain text ✓");
    }],
    ["messages", "#/messages/orders?partition=0&from=earliest", "#records table", async () => {
      expect(await text("#records")).toContain("plain text ✓");
      await page.select("#view-as", "json");
      expect(await text("#records")).toContain('"items": [');
      await page.select("#view-as", "hex");
      expect(await text("#records")).toContain("7b 22 69 64"); // {"id
    }],
    ["groups", "#/groups", "main h1", undefined],
    ["bench", "#/bench", ".report", async () => {
      expect(await text(".report")).toContain("MB/s");
      await page.click("nav.reports a[href='#/bench/produce.md']");
      await page.waitForSelector(".report table");
      await page.waitForSelector(".report img.plot");
      await page.waitForFunction(() => [...(document.querySelectorAll(".report img.plot") as HTMLImageElement[])].every((image) => image.complete && image.naturalWidth > 0), { timeout: 10000 });
    }],
  ];
  for (const [name, hash, ready, check] of pages) {
    await open(hash, ready);
    await check?.();
    await screenshot(name);
  }
  // Dark theme by the switch, and a phone's width.
  await open("#/overview", ".cards");
  await page.click("#theme");
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe("rgb(15, 18, 22)");
  await screenshot("overview-dark");
  // A phone's width, in a tab of its own (changing a tab to mobile emulation reloads it).
  const desktop = page;
  page = await newPage({ width: 390, height: 844, isMobile: true });
  try {
    await open("#/messages/orders?partition=0&from=earliest", "#records table");
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark"); // the choice was kept
    // Nothing wider than the phone's screen but the tables' own scrolling boxes.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot("messages-phone-dark");
    await page.click("#theme");
  } finally {
    await page.close();
    page = desktop;
  }
  expect(problems).toEqual([]);
}, 60000);

test.skipIf(!chromium)("the keyboard alone reaches every page", async () => {
  await open("#/overview", ".cards");
  const visited = new Set<string>();
  const wanted = ["overview", "topics", "messages", "groups", "bench"];
  // Tab forward from the top; Enter on each nav link not visited yet; the new page's heading takes
  // the focus, so Tab goes on from there (wrapping around through the address bar's absence).
  for (let presses = 0; presses < 200 && visited.size < wanted.length; presses++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset?.page ?? null);
    if (focused === null || visited.has(focused)) continue;
    await page.keyboard.press("Enter");
    await page.waitForFunction((name: string) => location.hash.startsWith(`#/${name}`) && document.querySelector("main h1") !== null && document.querySelector(`nav a[data-page="${name}"]`)?.getAttribute("aria-current") === "page", { timeout: 10000 }, focused);
    // The focus moved to the new page's heading (or stayed on the link of the page already shown).
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe(focused === "overview" ? "A" : "H1");
    visited.add(focused);
  }
  expect([...visited].sort()).toEqual([...wanted].sort());
  expect(problems).toEqual([]);
}, 60000);

test.skipIf(!chromium)("a record produced with kcat appears in the live tail", async () => {
  await open("#/messages/orders", "#tail-toggle");
  await page.click("#tail-toggle");
  await waitForText("main [role=status]", "following new records");
  await kcatProduce("orders", ["tailed by the browser ✓"], 2);
  await waitForText("#records", "tailed by the browser ✓");
  const row = await page.$eval("#records tbody tr:last-child", (element) => ({ partition: element.getAttribute("data-partition"), offset: element.getAttribute("data-offset") }));
  expect(row).toEqual({ partition: "2", offset: "0" });
  await screenshot("messages-live-tail");
  expect(problems).toEqual([]);
}, 60000);

test.skipIf(!chromium)("a topic created in the UI shows in kcat -L; a config change and a deletion ask first", async () => {
  await open("#/topics", "form[aria-label='Create a topic']");
  await page.type("input[name=topic]", "made-in-ui");
  await page.$eval("input[name=partitions]", (element) => ((element as HTMLInputElement).value = ""));
  await page.type("input[name=partitions]", "3");
  await page.type("textarea[name=configs]", "cleanup.policy=compact");
  await page.click("form[aria-label='Create a topic'] button[type=submit]");
  await waitForText("form[aria-label='Create a topic'] [role=status]", "Created topic made-in-ui");
  const metadata = new TextDecoder().decode((await run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", "-L", "-t", "made-in-ui"], { timeoutMs: 30000 })).stdout);
  expect(metadata).toContain('topic "made-in-ui" with 3 partitions');
  await waitForText("main table", "made-in-ui");

  // Change retention.ms: the dialog asks; Cancel changes nothing, Apply does.
  await open("#/topics/made-in-ui", "section[aria-label=Configs] table");
  const setRetention = async () => {
    const input = await page.$("input[aria-label='New value of retention.ms']");
    await input!.click({ count: 3 });
    await input!.type("3600000");
    await page.keyboard.press("Enter");
    await page.waitForSelector("dialog[open]");
  };
  const retention = async () => ((await (await api("GET", "/topics/made-in-ui/configs/retention.ms")).json()) as { value: string }).value;
  await setRetention();
  await page.click("dialog[open] button[value=cancel]");
  await waitForText("section[aria-label=Configs] [role=status]", "Nothing changed");
  expect(await retention()).toBe("604800000");
  await setRetention();
  await page.click("dialog[open] button[value=confirm]");
  await waitForText("section[aria-label=Configs] [role=status]", "retention.ms set to 3600000");
  expect(await retention()).toBe("3600000");

  // Delete: the name must be typed in the dialog.
  await page.click("section[aria-label=Delete] button");
  await page.waitForSelector("dialog[open]");
  await page.type("dialog[open] input", "made-in-ui");
  await page.click("dialog[open] button[value=confirm]");
  await page.waitForFunction(() => location.hash === "#/topics", { timeout: 10000 });
  expect((await api("GET", "/topics/made-in-ui")).status).toBe(404);
  expect(problems).toEqual([]);
}, 60000);

const pythonConsumer = `
import signal, sys
from confluent_kafka import Consumer
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
bootstrap, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "broker.address.family": "v4", "client.id": "py-lagger"})
consumer.subscribe([topic])
# At least two records of each partition, so that both have a committed offset.
seen = {0: 0, 1: 0}
while min(seen.values()) < 2:
    message = consumer.poll(0.5)
    if message is not None and message.error() is None:
        seen[message.partition()] += 1
consumer.commit(asynchronous=False)
consumer.pause(consumer.assignment())
print("READY", sum(seen.values()), flush=True)
while not stop:
    consumer.poll(0.2)
consumer.close()
print("CLOSED", flush=True)
`;

/** Lag per partition as Kafka's own requests give it: high watermark (ListOffsets) − committed (OffsetFetch). */
async function kafkaLag(group: string, topic: string): Promise<Record<string, number>> {
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const ends = await admin.fetchTopicOffsets(topic);
  const lag: Record<string, number> = {};
  for (const partition of committed!.partitions) {
    if (Number(partition.offset) < 0) continue;
    lag[`${topic}/${partition.partition}`] = Number(ends.find((end) => end.partition === partition.partition)!.high) - Number(partition.offset);
  }
  return lag;
}

async function lagShown(): Promise<Record<string, number>> {
  return page.$$eval("#lags [data-lag]", (cells) => Object.fromEntries(cells.map((cell) => [cell.getAttribute("data-lag")!, Number(cell.textContent!.replace(/,/g, ""))])));
}

test.skipIf(!chromium)("a librdkafka group's lag shown matches OffsetFetch and DescribeGroups; offsets reset after a dry run", async () => {
  const topic = "lagged";
  const group = "py-group";
  expect((await api("POST", "/topics", { topic_name: topic, partitions_count: 2 })).status).toBe(201);
  await kcatProduce(topic, ["a", "b", "c", "d", "e"], 0);
  await kcatProduce(topic, ["f", "g", "h", "i", "j", "k", "l"], 1);
  const consumer = spawnLines(["/usr/bin/python3", "-c", pythonConsumer, broker.bootstrap, group, topic]);
  try {
    const consumed = Number((await consumer.waitForLine((line) => line.startsWith("READY "))).split(" ")[1]);
    const described = await eventually(async () => {
      const { groups } = await admin.describeGroups([group]);
      return groups[0]!.state === "Stable" ? groups[0]! : undefined;
    }, 15000, "a Stable group");
    const expected = await kafkaLag(group, topic);
    expect(Object.keys(expected).sort()).toEqual([`${topic}/0`, `${topic}/1`]);
    expect(Object.values(expected).reduce((sum, lag) => sum + lag, 0)).toBe(12 - consumed);

    await open(`#/groups/${group}`, "#lags table");
    await waitForText("#group-state", "STABLE");
    expect(await lagShown()).toEqual(expected);
    expect(await text("#total-lag")).toBe(String(12 - consumed));
    const members = await text("section[aria-label=Group]");
    for (const member of described.members) {
      expect(members).toContain(member.memberId);
      expect(members).toContain(member.clientId);
    }
    // The lag-over-time graph has points (from /metrics).
    await page.waitForFunction(() => (document.querySelector("section[aria-label='Lag over time'] polyline")?.getAttribute("points") ?? "") !== "", { timeout: 15000 });
    await screenshot("group");

    // Reset to earliest: the dry run shows the plan and changes nothing; executing while the
    // group has a member is refused; after the member left it is applied.
    await page.select("#reset-to", "earliest");
    await page.click("#reset-dry-run");
    await page.waitForSelector("#reset-plan table");
    expect(await kafkaLag(group, topic)).toEqual(expected);
    await page.click("#reset-apply");
    await page.waitForSelector("dialog[open]");
    await page.click("dialog[open] button[value=confirm]");
    await waitForText("form[aria-label='Reset offsets'] [role=status]", "stop its consumers");
    expect(await kafkaLag(group, topic)).toEqual(expected);
    problems.length = 0; // the 409 above is logged by Chromium as a failed resource load, on purpose

    consumer.process.kill("SIGTERM");
    await consumer.waitForLine((line) => line === "CLOSED");
    await waitForText("#group-state", "EMPTY");
    await page.click("#reset-apply");
    await page.waitForSelector("dialog[open]");
    await page.click("dialog[open] button[value=confirm]");
    await waitForText("form[aria-label='Reset offsets'] [role=status]", "Offsets reset");
    const after = await kafkaLag(group, topic);
    expect(Object.values(after).reduce((sum, lag) => sum + lag, 0)).toBe(12);
    await page.waitForFunction(() => document.querySelector("#total-lag")?.textContent === "12", { timeout: 10000 });
    expect(await lagShown()).toEqual(after);
  } finally {
    consumer.process.kill("SIGKILL");
    await consumer.exited;
  }
  expect(problems).toEqual([]);
}, 90000);
