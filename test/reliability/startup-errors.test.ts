// Items 8 and 10 of issue 8: a start that cannot succeed prints one line saying what failed and
// where, and exits non-zero — never a runtime stack trace. Among the causes, a taken HTTP port:
// Bun.serve binds with SO_REUSEPORT unless told otherwise, so a second node used to start on the
// same --http-port and the two answered alternately.

import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { runBrokerToExit } from "./kafka-ops.ts";

const directories: string[] = [];
const mounts: string[] = [];
afterAll(() => {
  for (const mount of mounts) Bun.spawnSync(["umount", "-l", mount]);
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function fresh(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-startup-"));
  directories.push(directory);
  return directory;
}

/** The refusal: a non-zero exit and exactly one line on stderr (info-level logging on), no stack. */
async function refusal(args: string[]): Promise<string> {
  const result = await runBrokerToExit([...args], { RUNNEL_LOG_LEVEL: "info" });
  const lines = result.stderr.trim().split("\n").filter((line) => !/ INFO /.test(line));
  expect(result.exitCode).not.toBe(0);
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith("runnel: ")).toBe(true);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stdout).not.toContain("listening");
  return lines[0]!;
}

const ports = ["--kafka-port", "0", "--http-port", "0"];

// A read-only directory needs a read-only mount (root ignores permission bits): root only.
const roMount = (() => {
  const directory = mkdtempSync(join(tmpdir(), "runnel-ro-"));
  directories.push(directory);
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", directory], { stderr: "pipe" });
  if (mounted.exitCode !== 0) return null;
  mounts.push(directory);
  return directory;
})();

describe("start-up failures: one line, non-zero exit", () => {
  test("a taken HTTP port refuses the start (exclusive bind), naming host and port", async () => {
    await using first = await startBroker();
    const httpLine = await first.waitForLine((line) => line.startsWith("http listening on "));
    const httpPort = httpLine.slice(httpLine.lastIndexOf(":") + 1);
    const line = await refusal(["--data-dir", fresh(), "--kafka-port", "0", "--http-port", httpPort]);
    expect(line).toContain(`cannot listen for HTTP on 127.0.0.1:${httpPort}`);
    expect(line).toContain("address already in use");
  }, 30_000);

  test("a taken Kafka port", async () => {
    await using first = await startBroker();
    const line = await refusal(["--data-dir", fresh(), "--kafka-port", String(first.port), "--http-port", "0"]);
    expect(line).toContain(`cannot listen for Kafka clients on 127.0.0.1:${first.port}`);
    expect(line).toContain("address already in use");
  }, 30_000);

  test("a data directory under a file (bad path)", async () => {
    const file = join(fresh(), "plain-file");
    writeFileSync(file, "x");
    const line = await refusal(["--data-dir", join(file, "data"), ...ports]);
    expect(line).toContain(`cannot create data directory ${join(file, "data")}`);
  });

  test("a file given as data directory", async () => {
    const file = join(fresh(), "plain-file");
    writeFileSync(file, "x");
    const line = await refusal(["--data-dir", file, ...ports]);
    expect(line).toContain(file);
  });

  test.skipIf(roMount === null)("a read-only data directory (read-only mount; root only)", async () => {
    const line = await refusal(["--data-dir", roMount!, ...ports]);
    expect(line).toContain(roMount!);
    expect(line).toContain("read-only file system");
  });

  test.skipIf(process.getuid?.() === 0)("a data directory without permissions (non-root only: root ignores them)", async () => {
    const directory = fresh();
    mkdirSync(join(directory, "locked"));
    chmodSync(join(directory, "locked"), 0o500);
    const line = await refusal(["--data-dir", join(directory, "locked"), ...ports]);
    expect(line).toContain("permission denied");
  });

  test("a bad configuration value or an unknown key (exit 2)", async () => {
    for (const [set, key] of [["num.partitions=abc", "num.partitions"], ["no.such.key=1", "no.such.key"], ["max.connections.per.ip.overrides=nonsense", "max.connections.per.ip.overrides"]] as const) {
      const line = await refusal(["--data-dir", fresh(), ...ports, "--set", set]);
      expect(line).toContain(key);
    }
    const missing = await runBrokerToExit(["--config", join(fresh(), "missing.properties")]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("damaged meta.properties names the file", async () => {
    const dataDir = fresh();
    writeFileSync(join(dataDir, "meta.properties"), "version=1\ncluster.id=abc\nnode.id=7\n");
    const line = await refusal(["--data-dir", dataDir, ...ports]);
    expect(line).toContain(join(dataDir, "meta.properties"));
    expect(line).toContain("node.id");
  });
});
