import { describe, expect, test } from "bun:test";
import { parseStartArgs } from "../../src/cli/args.ts";
import {
  ConfigError,
  ConfigSource,
  envKeyToConfigKey,
  formatTopicValue,
  loadBrokerConfig,
  LONG_MAX,
  parseListener,
  parseProperties,
  resolveTopicConfig,
  topicDefaults,
  advertisedFor,
} from "../../src/config/index.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("broker configuration", () => {
  test("defaults are Kafka's", () => {
    const { values } = loadBrokerConfig();
    expect(values["num.partitions"]).toBe(1);
    expect(values["log.segment.bytes"]).toBe(1073741824);
    expect(values["log.retention.hours"]).toBe(168);
    expect(values["message.max.bytes"]).toBe(1048588);
    expect(values["log.flush.interval.messages"]).toBe(LONG_MAX);
    expect(values["log.dirs"]).toEqual(["./data"]);
    expect(values["socket.request.max.bytes"]).toBe(104857600);
  });

  test("precedence: defaults < file < RUNNEL_* env < --set", () => {
    const dir = mkdtempSync(join(tmpdir(), "runnel-config-"));
    const file = join(dir, "server.properties");
    writeFileSync(file, "# comment\nnum.partitions=3\nlog.segment.bytes = 1000\nlog.retention.ms: 5000\n");
    const loaded = loadBrokerConfig({
      file,
      env: { RUNNEL_LOG_SEGMENT_BYTES: "2000", RUNNEL_LOG_RETENTION_MS: "6000", RUNNEL_NATIVE: "0", PATH: "/bin" },
      overrides: [["log.retention.ms", "7000"]],
    });
    expect(loaded.values["num.partitions"]).toBe(3);
    expect(loaded.values["log.segment.bytes"]).toBe(2000);
    expect(loaded.values["log.retention.ms"]).toBe(7000);
    expect(loaded.explicit.get("log.retention.ms")).toBe("7000");
  });

  test("unknown keys and bad values are refused, naming the key", () => {
    expect(() => loadBrokerConfig({ overrides: [["no.such.key", "1"]] })).toThrow(/no\.such\.key/);
    expect(() => loadBrokerConfig({ overrides: [["segment.bytes", "1"]] })).toThrow(/topic-level key/);
    expect(() => loadBrokerConfig({ overrides: [["num.partitions", "zero"]] })).toThrow(/num\.partitions.*not an integer/);
    expect(() => loadBrokerConfig({ overrides: [["num.partitions", "0"]] })).toThrow(/num\.partitions.*minimum/);
    expect(() => loadBrokerConfig({ overrides: [["auto.create.topics.enable", "yes"]] })).toThrow(ConfigError);
    expect(() => loadBrokerConfig({ overrides: [["log.message.timestamp.type", "Wall"]] })).toThrow(/CreateTime/);
    expect(() => loadBrokerConfig({ env: { RUNNEL_NUM_PARTITONS: "2" } })).toThrow(/num\.partitons/);
  });

  test("env names map like Kafka's container images", () => {
    expect(envKeyToConfigKey("RUNNEL_LOG_SEGMENT_BYTES")).toBe("log.segment.bytes");
    expect(envKeyToConfigKey("RUNNEL_A__B___C")).toBe("a_b-c");
  });

  test("Long.MAX_VALUE round-trips as Kafka prints it", () => {
    const loaded = loadBrokerConfig({ overrides: [["log.flush.interval.messages", "9223372036854775807"]] });
    expect(loaded.values["log.flush.interval.messages"]).toBe(LONG_MAX);
    expect(formatTopicValue("flush.messages", LONG_MAX)).toBe("9223372036854775807");
    expect(() => loadBrokerConfig({ overrides: [["log.flush.interval.messages", "9223372036854775808"]] })).toThrow(/range/);
  });

  test("properties parsing reports the line of a bad entry", () => {
    expect(parseProperties("a=1\n# x\n\nb : 2", "f")).toEqual([["a", "1"], ["b", "2"]]);
    expect(() => parseProperties("a=1\njunk", "server.properties")).toThrow(/server\.properties:2/);
  });
});

describe("topic configuration", () => {
  test("broker keys default topic keys (Kafka's mapping)", () => {
    const { values } = loadBrokerConfig({
      overrides: [["log.segment.bytes", "4096"], ["log.retention.hours", "1"], ["log.flush.interval.messages", "1"]],
    });
    const topic = topicDefaults(values);
    expect(topic["segment.bytes"]).toBe(4096);
    expect(topic["retention.ms"]).toBe(3600000);
    expect(topic["flush.messages"]).toBe(1);
    expect(topic["segment.ms"]).toBe(168 * 3600000);
    expect(topic["max.message.bytes"]).toBe(1048588);
  });

  test("retention.ms comes from ms, then minutes, then hours", () => {
    const minutes = loadBrokerConfig({ overrides: [["log.retention.minutes", "2"]] });
    expect(topicDefaults(minutes.values)["retention.ms"]).toBe(120000);
    const ms = loadBrokerConfig({ overrides: [["log.retention.minutes", "2"], ["log.retention.ms", "5"]] });
    expect(topicDefaults(ms.values)["retention.ms"]).toBe(5);
  });

  test("overrides win and carry their source", () => {
    const broker = loadBrokerConfig({ overrides: [["log.segment.bytes", "4096"]] });
    const resolved = resolveTopicConfig(broker, { "retention.ms": "1000", "cleanup.policy": "compact,delete" });
    expect(resolved.values["retention.ms"]).toBe(1000);
    expect(resolved.values["cleanup.policy"]).toEqual(["compact", "delete"]);
    expect(resolved.source["retention.ms"]).toBe(ConfigSource.DYNAMIC_TOPIC_CONFIG);
    expect(resolved.source["segment.bytes"]).toBe(ConfigSource.STATIC_BROKER_CONFIG);
    expect(resolved.source["max.message.bytes"]).toBe(ConfigSource.DEFAULT_CONFIG);
    expect(() => resolveTopicConfig(broker, { "retention.msx": "1" })).toThrow(/retention\.msx/);
    expect(() => resolveTopicConfig(broker, { "cleanup.policy": "shred" })).toThrow(/cleanup\.policy/);
  });
});

describe("command line", () => {
  test("shorthands become listeners and log.dirs", () => {
    const args = parseStartArgs(["--data-dir", "/tmp/x", "--kafka-port", "0", "--host", "0.0.0.0", "--set", "num.partitions=4"]);
    const loaded = loadBrokerConfig({ overrides: args.overrides });
    expect(loaded.values["log.dirs"]).toEqual(["/tmp/x"]);
    expect(loaded.values["num.partitions"]).toBe(4);
    expect(loaded.values.listeners).toEqual(["PLAINTEXT://0.0.0.0:0", "HTTP://0.0.0.0:8080"]);
  });

  test("bad arguments are refused", () => {
    expect(() => parseStartArgs(["--kafka-port", "70000"])).toThrow(/--kafka-port/);
    expect(() => parseStartArgs(["--bogus"])).toThrow(/--bogus/);
    expect(() => parseStartArgs(["--set", "novalue"])).toThrow(/key=value/);
  });

  test("listeners parse and advertise", () => {
    const bound = parseListener("listeners", "PLAINTEXT://0.0.0.0:9092");
    expect(bound).toEqual({ name: "PLAINTEXT", host: "0.0.0.0", port: 9092 });
    expect(advertisedFor(bound, []).host).not.toBe("0.0.0.0");
    const advertised = [parseListener("advertised.listeners", "PLAINTEXT://broker.example:19092")];
    expect(advertisedFor(bound, advertised)).toEqual({ name: "PLAINTEXT", host: "broker.example", port: 19092 });
    expect(parseListener("listeners", "PLAINTEXT://[::1]:9092").host).toBe("::1");
    expect(() => parseListener("listeners", "localhost:9092")).toThrow(/NAME:\/\/host:port/);
  });
});

describe("the process", () => {
  test("refuses an unknown key at start with a message naming it", () => {
    const result = Bun.spawnSync(["bun", join(import.meta.dir, "../../src/main.ts"), "--set", "log.segmnt.bytes=1"], {
      stderr: "pipe",
      stdout: "pipe",
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.toString()).toContain("log.segmnt.bytes");
  });
});
