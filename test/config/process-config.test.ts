// Configuration precedence and validation through the real process: `bun src/main.ts` started with
// a server.properties file, RUNNEL_* environment variables and --set, then asked for its effective
// configuration with a real client (kafkajs DescribeConfigs on the broker and on a new topic, whose
// keys default from the broker keys). Bad values from every source are refused at start, naming the
// key, before anything is written to the data directory.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from "kafkajs";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";

const main = resolve(import.meta.dir, "../../src/main.ts");
const workDir = mkdtempSync(join(tmpdir(), "runnel-process-config-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Environment of the child without any RUNNEL_* config key inherited from the test runner. */
function cleanEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of Object.keys(process.env)) if (name.startsWith("RUNNEL_") && name !== "RUNNEL_NATIVE") env[name] = undefined;
  return { ...env, RUNNEL_LOG_LEVEL: "warn", ...extra };
}

describe("precedence through the real process: defaults < file < RUNNEL_* env < --set", () => {
  let child: LineProcess;
  let admin: Admin;
  const dataDir = join(workDir, "data");

  beforeAll(async () => {
    const file = join(workDir, "server.properties");
    // Each key is set at a different set of layers; the expected winner is noted.
    writeFileSync(
      file,
      [
        "num.partitions=3", // file only → 3
        "log.segment.bytes=5000", // file < env → 6000
        "log.retention.ms=1000", // file < env < --set → 3000
        "log.flush.interval.messages=100", // file < --set → 200
      ].join("\n"),
    );
    child = spawnLines(
      [process.execPath, main, "--config", file, "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0",
        "--set", "log.retention.ms=3000", "--set", "log.flush.interval.messages=200"],
      { env: cleanEnv({ RUNNEL_LOG_SEGMENT_BYTES: "6000", RUNNEL_LOG_RETENTION_MS: "2000", RUNNEL_LOG_CLEANER_MIN_CLEANABLE_RATIO: "0.25" }) },
    );
    const line = await child.waitForLine((text) => text.startsWith("kafka listening on "));
    const bootstrap = line.slice("kafka listening on ".length);
    const kafka = new Kafka({ clientId: "runnel-process-config", brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    child?.process.kill("SIGTERM");
    if (child) expect(await child.exited).toBe(0);
  });

  test("DescribeConfigs on the broker shows the winning layer of each key", async () => {
    const keys = ["num.partitions", "log.segment.bytes", "log.retention.ms", "log.flush.interval.messages", "log.cleaner.min.cleanable.ratio", "log.retention.hours"];
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.BROKER, name: "1", configNames: keys }],
      includeSynonyms: false,
    });
    const entries = new Map(described.resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]));
    expect(Object.fromEntries(entries)).toEqual({
      "num.partitions": "3",
      "log.segment.bytes": "6000",
      "log.retention.ms": "3000",
      "log.flush.interval.messages": "200",
      "log.cleaner.min.cleanable.ratio": "0.25",
      "log.retention.hours": "168",
    });
  });

  test("a new topic takes its defaults from those broker keys (Kafka's broker → topic mapping)", async () => {
    await admin.createTopics({ topics: [{ topic: "layered" }] });
    const metadata = await admin.fetchTopicMetadata({ topics: ["layered"] });
    expect(metadata.topics[0]!.partitions.length).toBe(3);
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: "layered", configNames: ["segment.bytes", "retention.ms", "flush.messages", "min.cleanable.dirty.ratio"] }],
      includeSynonyms: false,
    });
    const entries = new Map(described.resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]));
    expect(Object.fromEntries(entries)).toEqual({
      "segment.bytes": "6000",
      "retention.ms": "3000",
      "flush.messages": "200",
      "min.cleanable.dirty.ratio": "0.25",
    });
  });
});

describe("bad values are refused at start, naming the key, from every source", () => {
  function start(args: string[], env: Record<string, string> = {}, file?: string) {
    const dataDir = mkdtempSync(join(workDir, "refused-"));
    rmSync(dataDir, { recursive: true });
    const command = [process.execPath, main, "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0", ...(file ? ["--config", file] : []), ...args];
    const result = Bun.spawnSync(command, { env: cleanEnv(env) as Record<string, string>, stdout: "pipe", stderr: "pipe" });
    return { exitCode: result.exitCode, stderr: result.stderr.toString(), stdout: result.stdout.toString(), dataDir };
  }

  const cases: { name: string; args?: string[]; env?: Record<string, string>; file?: string; key: RegExp }[] = [
    { name: "--set broker key, not a number", args: ["--set", "log.segment.bytes=big"], key: /log\.segment\.bytes.*not an integer/ },
    { name: "--set broker key below its minimum", args: ["--set", "log.segment.bytes=10"], key: /log\.segment\.bytes.*minimum/ },
    { name: "--set broker key feeding a topic key, not in its list", args: ["--set", "log.cleanup.policy=shred"], key: /log\.cleanup\.policy/ },
    { name: "--set broker key, int overflow", args: ["--set", "message.max.bytes=3000000000"], key: /message\.max\.bytes.*int range/ },
    { name: "--set a topic-level key", args: ["--set", "retention.ms=1000"], key: /retention\.ms.*topic-level key/ },
    { name: "RUNNEL_* env, bad boolean", env: { RUNNEL_AUTO_CREATE_TOPICS_ENABLE: "yes" }, key: /auto\.create\.topics\.enable.*boolean/ },
    { name: "RUNNEL_* env, unknown key", env: { RUNNEL_LOG_SEGMENT_BYTEZ: "1" }, key: /log\.segment\.bytez/ },
    { name: "config file, bad value", file: "log.retention.ms=-5\n", key: /log\.retention\.ms.*minimum/ },
  ];

  for (const refused of cases) {
    test(refused.name, () => {
      let file: string | undefined;
      if (refused.file !== undefined) {
        file = join(workDir, `bad-${cases.indexOf(refused)}.properties`);
        writeFileSync(file, refused.file);
      }
      const result = start(refused.args ?? [], refused.env ?? {}, file);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(refused.key);
      expect(result.stdout).not.toContain("listening");
      // Refused before anything was opened or written.
      expect(existsSync(result.dataDir) ? readdirSync(result.dataDir) : []).toEqual([]);
    });
  }

  test("--set wins over a bad RUNNEL_* value of the same key (later layers replace earlier ones)", async () => {
    const dataDir = mkdtempSync(join(workDir, "override-"));
    const child = spawnLines(
      [process.execPath, main, "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0", "--set", "num.partitions=2"],
      { env: cleanEnv({ RUNNEL_NUM_PARTITIONS: "zero" }) },
    );
    await child.waitForLine((text) => text.startsWith("kafka listening on "));
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });
});

describe("shutdown right after start", () => {
  test("SIGTERM sent the moment the listening line appears shuts down cleanly (exit 0, clean-shutdown marker)", async () => {
    // The node prints where it listens while it starts; a signal handler installed only after the
    // start let such a SIGTERM kill the process (exit 143) without closing its logs.
    for (let attempt = 0; attempt < 6; attempt++) {
      const dataDir = mkdtempSync(join(workDir, "quick-stop-"));
      const child = spawnLines([process.execPath, main, "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0"], { env: cleanEnv({}) });
      await child.waitForLine((text) => text.startsWith("kafka listening on "));
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(existsSync(join(dataDir, ".runnel_cleanshutdown"))).toBe(true);
    }
  }, 30_000);
});
