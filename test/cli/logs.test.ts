// Structured logs: `--log-format json` (or RUNNEL_LOG_FORMAT) makes every stderr line one JSON
// object with time, level, node, scope and message; text lines carry node=N; --log-level filters.
// Checked on a real broker process through a start, a client session and a SIGTERM shutdown.

import { expect, test } from "bun:test";
import { formatLogLine, setLogFormat, setLogNodeId } from "../../src/util/logger.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnLines } from "../../src/testing/processes.ts";
import { repoRoot, startBroker } from "../helpers/broker.ts";

test("a broker logging JSON lines: every line parses and names its node; shutdown is logged", async () => {
  const broker = await startBroker({ set: { "node.id": 7 }, env: { RUNNEL_LOG_LEVEL: "info", RUNNEL_LOG_FORMAT: "json" } });
  expect(await broker.shutdown()).toBe(0);
  const lines = broker.lastStderr.trim().split("\n").filter((line) => line.length > 0);
  expect(lines.length).toBeGreaterThan(2);
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const record of records) {
    expect(Object.keys(record).slice(0, 5)).toEqual(["time", "level", "node", "scope", "msg"]);
    expect(Number.isNaN(Date.parse(record.time as string))).toBe(false);
  }
  // Lines after the node read its meta.properties carry its id.
  const started = records.findIndex((record) => record.msg === "starting");
  expect(started).toBeGreaterThanOrEqual(0);
  expect(records.slice(started).every((record) => record.node === 7)).toBe(true);
  expect(records.some((record) => record.msg === "SIGTERM received: shutting down")).toBe(true);
  await broker.stop();
}, 30_000);

/** Starts `runnel start …flags` on a temporary data dir, stops it with SIGTERM, returns stderr lines. */
async function startAndStop(flags: string[]): Promise<{ code: number; lines: string[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-logs-"));
  try {
    const child = spawnLines([process.execPath, join(repoRoot, "src/main.ts"), "start", ...flags, "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0"], {
      cwd: repoRoot, env: { RUNNEL_LOG_LEVEL: undefined, RUNNEL_LOG_FORMAT: undefined },
    });
    await child.waitForLine((line) => line.startsWith("kafka listening on "));
    child.process.kill("SIGTERM");
    const code = await child.exited;
    return { code, lines: (await child.stderr()).trim().split("\n").filter((line) => line.length > 0) };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test("--log-format json and --log-level on the command line", async () => {
  const json = await startAndStop(["--log-format", "json"]);
  expect(json.code).toBe(0);
  expect(json.lines.length).toBeGreaterThan(1);
  for (const line of json.lines) expect(JSON.parse(line).level).toBeOneOf(["info", "warn", "error"]);
  const quiet = await startAndStop(["--log-level", "warn"]);
  expect(quiet).toEqual({ code: 0, lines: [] });
  const bad = Bun.spawnSync([process.execPath, join(repoRoot, "src/main.ts"), "start", "--log-level", "loud"], { cwd: repoRoot });
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr.toString()).toContain("--log-level");
}, 30_000);

test("text lines name the node; JSON keeps field values typed", () => {
  const time = new Date("2026-01-31T12:00:00.000Z");
  setLogNodeId(3);
  try {
    expect(formatLogLine("warn", "kafka", "closing", { connection: 4 }, time)).toBe("2026-01-31T12:00:00.000Z WARN node=3 [kafka] closing connection=4");
    setLogFormat("json");
    expect(JSON.parse(formatLogLine("info", "storage", "cut", { offset: 12n, torn: true }, time))).toEqual({
      time: "2026-01-31T12:00:00.000Z", level: "info", node: 3, scope: "storage", msg: "cut", offset: "12", torn: true,
    });
  } finally {
    setLogFormat("text");
    setLogNodeId(null);
  }
});
