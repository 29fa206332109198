// `runnel <command>` as a user runs it: the real process (`bun src/main.ts …`, or $RUNNEL_BIN)
// against a real broker process, checking output and exit codes (0 done, 1 failed, 2 bad
// command line), and kcat on the other side of produce and consume.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { KafkaClient } from "../../src/client/client.ts";
import { GroupConsumer } from "../../src/client/group-consumer.ts";
import { repoRoot, run, startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ set: { "group.initial.rebalance.delay.ms": 0, "auto.create.topics.enable": "false" } });
});
afterAll(async () => {
  await broker?.stop();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `runnel args…` against the test broker; never throws on a non-zero exit. */
async function runnel(args: string[], options: { stdin?: string; bootstrap?: boolean } = {}): Promise<Result> {
  const binary = process.env.RUNNEL_BIN ? [process.env.RUNNEL_BIN] : [process.execPath, join(repoRoot, "src/main.ts")];
  const bootstrap = options.bootstrap === false ? [] : ["--bootstrap", broker.bootstrap];
  const child = Bun.spawn([...binary, ...args, ...bootstrap], {
    cwd: repoRoot,
    env: { ...process.env, RUNNEL_LOG_LEVEL: "warn" },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe("topics", () => {
  test("create, list, describe, alter, delete, with exit codes scripts can trust", async () => {
    expect(await runnel(["topics", "create", "cli-a", "--partitions", "3", "--config", "retention.ms=3600000"])).toMatchObject({
      code: 0, stdout: "created topic cli-a (3 partitions, replication factor 1)\n",
    });
    const again = await runnel(["topics", "create", "cli-a"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("TOPIC_ALREADY_EXISTS");
    expect((await runnel(["topics", "create", "cli-a", "--if-not-exists"])).code).toBe(0);

    const listed = await runnel(["topics", "list", "--json"]);
    expect(JSON.parse(listed.stdout)).toContainEqual(expect.objectContaining({ name: "cli-a", partitions: 3, replicationFactor: 1 }));
    const described = await runnel(["topics", "describe", "cli-a"]);
    expect(described.stdout).toContain("Configs: retention.ms=3600000");
    expect(described.stdout.trim().split("\n").length).toBe(5); // topic line, header, 3 partitions

    expect(await runnel(["topics", "alter", "cli-a", "--partitions", "4", "--config", "cleanup.policy=compact", "--delete-config", "retention.ms"])).toMatchObject({ code: 0 });
    const [topic] = JSON.parse((await runnel(["topics", "describe", "cli-a", "--json"])).stdout);
    expect(topic.partitions.length).toBe(4);
    expect(topic.configs).toEqual({ "cleanup.policy": "compact" });

    expect(await runnel(["topics", "delete", "cli-a"])).toMatchObject({ code: 0, stdout: "deleted topic cli-a\n" });
    expect((await runnel(["topics", "delete", "cli-a"])).code).toBe(1);
    expect((await runnel(["topics", "delete", "cli-a", "--if-exists"])).code).toBe(0);
    expect((await runnel(["topics", "describe", "cli-a"])).code).toBe(1);
  }, 30_000);

  test("a bad command line exits 2, an unreachable broker 1", async () => {
    for (const args of [["topics", "create", "x", "--bogus"], ["topics", "create"], ["topics"], ["no-such-command"], ["topics", "alter", "x"]]) {
      const result = await runnel(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr.length).toBeGreaterThan(0);
    }
    const unreachable = await runnel(["topics", "list", "--bootstrap", "127.0.0.1:1", "--timeout-ms", "500"], { bootstrap: false });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("127.0.0.1:1");
  }, 30_000);

  test("every command has --help (exit 0), and version prints", async () => {
    const help = await runnel(["--help"], { bootstrap: false });
    const names = [...help.stdout.matchAll(/^ {2}(\S+(?: [a-z-]+)?) {2,}/gm)].map((match) => match[1]!);
    expect(names).toContain("groups reset-offsets");
    expect(names.length).toBeGreaterThanOrEqual(14);
    for (const name of names) {
      const result = await runnel([...name.split(" "), "--help"], { bootstrap: false });
      expect({ name, code: result.code }).toEqual({ name, code: 0 });
      expect(result.stdout).toContain(`usage: runnel ${name === "start" ? "[start]" : name}`);
    }
    expect((await runnel(["version"], { bootstrap: false })).stdout).toMatch(/^runnel \d+\.\d+\.\d+ \(bun /);
  }, 60_000);
});

describe("produce and consume", () => {
  test("lines with keys and headers go in; formats, offsets, --count and --exit come out", async () => {
    expect((await runnel(["topics", "create", "cli-pc", "--partitions", "1"])).code).toBe(0);
    const produced = await runnel(["produce", "cli-pc", "-K", ":", "-H", "source=cli"], { stdin: "k1:one\nk2:two\r\nthree\n" });
    expect(produced).toMatchObject({ code: 0, stderr: "" });

    const formatted = await runnel(["consume", "cli-pc", "-o", "beginning", "-e", "-f", "%p/%o %K %k=%s %h\\n"]);
    expect(formatted).toMatchObject({ code: 0, stdout: "0/0 2 k1=one source=cli\n0/1 2 k2=two source=cli\n0/2 -1 =three source=cli\n" });
    expect((await runnel(["consume", "cli-pc", "-o", "1", "-e"])).stdout).toBe("two\nthree\n");
    expect((await runnel(["consume", "cli-pc", "-o", "-1", "-e"])).stdout).toBe("three\n");
    expect((await runnel(["consume", "cli-pc", "-o", "beginning", "--count", "2"])).stdout).toBe("one\ntwo\n");
    expect((await runnel(["consume", "cli-pc", "-o", "end", "-e"])).stdout).toBe("");
    expect((await runnel(["consume", "cli-pc", "-o", `@${Date.now() + 60_000}`, "-e"])).stdout).toBe("");
    const json = (await runnel(["consume", "cli-pc", "-o", "beginning", "-e", "--json"])).stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(json.map((record) => [record.offset, record.key, record.value, record.headers])).toEqual([
      [0, "k1", "one", { source: "cli" }], [1, "k2", "two", { source: "cli" }], [2, null, "three", { source: "cli" }],
    ]);
  }, 30_000);

  test("kcat reads what runnel produced, runnel reads what kcat produced", async () => {
    expect((await runnel(["topics", "create", "cli-kcat", "--partitions", "2"])).code).toBe(0);
    const lines = Array.from({ length: 100 }, (_, index) => `line-${index}`);
    expect((await runnel(["produce", "cli-kcat", "--compression", "zstd", "--acks", "1"], { stdin: lines.join("\n") + "\n" })).code).toBe(0);
    const read = await run(["kcat", "-b", broker.bootstrap, "-C", "-t", "cli-kcat", "-o", "beginning", "-e", "-q"]);
    expect(new TextDecoder().decode(read.stdout).trim().split("\n").sort()).toEqual([...lines].sort());
    await run(["kcat", "-b", broker.bootstrap, "-P", "-t", "cli-kcat", "-p", "1", "-z", "snappy"], { stdin: "from-kcat-1\nfrom-kcat-2\n" });
    const back = await runnel(["consume", "cli-kcat", "-p", "1", "-o", "-2", "-e"]);
    expect(back.stdout).toBe("from-kcat-1\nfrom-kcat-2\n");
  }, 30_000);

  test("a missing topic fails at once with exit 1", async () => {
    const consume = await runnel(["consume", "cli-nope", "-e"]);
    expect(consume.code).toBe(1);
    expect(consume.stderr).toContain("topic cli-nope does not exist");
    const produce = await runnel(["produce", "cli-nope"], { stdin: "x\n" });
    expect(produce.code).toBe(1);
  }, 30_000);
});

describe("groups", () => {
  test("consume --group commits; describe shows lag; reset-offsets is a dry run until --execute; delete", async () => {
    expect((await runnel(["topics", "create", "cli-g", "--partitions", "2"])).code).toBe(0);
    await runnel(["produce", "cli-g", "-p", "0"], { stdin: "a\nb\nc\n" });
    await runnel(["produce", "cli-g", "-p", "1"], { stdin: "d\n" });
    const first = await runnel(["consume", "cli-g", "--group", "cli-billing", "-o", "beginning", "-e"]);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split("\n").sort()).toEqual(["a", "b", "c", "d"]);
    await runnel(["produce", "cli-g", "-p", "1"], { stdin: "e\n" });
    expect((await runnel(["consume", "cli-g", "--group", "cli-billing", "-e"])).stdout).toBe("e\n");

    const [described] = JSON.parse((await runnel(["groups", "describe", "cli-billing", "--json"])).stdout);
    expect(described.state).toBe("Empty");
    expect(described.partitions.map((entry: { partition: number; committed: string; lag: string }) => [entry.partition, entry.committed, entry.lag])).toEqual([[0, "3", "0"], [1, "2", "0"]]);
    expect((await runnel(["groups", "list"])).stdout).toMatch(/cli-billing\s+Empty\s+consumer/);

    const dry = await runnel(["groups", "reset-offsets", "cli-billing", "--topic", "cli-g", "--to-earliest"]);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stderr).toContain("dry run");
    expect((await runnel(["consume", "cli-g", "--group", "cli-billing", "-e"])).stdout).toBe("");
    expect((await runnel(["groups", "reset-offsets", "cli-billing", "--topic", "cli-g:0", "--to-offset", "1", "--execute"])).code).toBe(0);
    expect((await runnel(["consume", "cli-g", "--group", "cli-billing", "-e"])).stdout).toBe("b\nc\n");
    expect((await runnel(["groups", "reset-offsets", "cli-billing", "--topic", "cli-g", "--execute"])).code).toBe(2);

    expect((await runnel(["groups", "delete", "cli-billing"])).code).toBe(0);
    expect((await runnel(["groups", "describe", "cli-billing"])).code).toBe(1);
  }, 60_000);

  test("reset-offsets --execute refuses a group with members", async () => {
    expect((await runnel(["topics", "create", "cli-busy", "--partitions", "1"])).code).toBe(0);
    const client = new KafkaClient({ bootstrap: broker.bootstrap });
    const member = new GroupConsumer(client, { groupId: "cli-busy-group", topics: ["cli-busy"], heartbeatIntervalMs: 200 });
    try {
      await member.poll(10);
      const refused = await runnel(["groups", "reset-offsets", "cli-busy-group", "--topic", "cli-busy", "--to-earliest", "--execute"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("Stable");
    } finally {
      await member.close();
      await client.close();
    }
  }, 30_000);
});

describe("stopping", () => {
  test("SIGTERM stops consume --group cleanly: exit 0, what it printed is committed; a closed pipe stops it too", async () => {
    expect((await runnel(["topics", "create", "cli-stop", "--partitions", "1"])).code).toBe(0);
    await runnel(["produce", "cli-stop"], { stdin: "1\n2\n3\n" });
    const binary = process.env.RUNNEL_BIN ? [process.env.RUNNEL_BIN] : [process.execPath, join(repoRoot, "src/main.ts")];
    const child = Bun.spawn([...binary, "consume", "cli-stop", "-G", "cli-stopper", "-o", "beginning", "-b", broker.bootstrap], { stdout: "pipe", stderr: "pipe" });
    const reader = child.stdout.getReader();
    let seen = "";
    while (seen.split("\n").length < 4) seen += new TextDecoder().decode((await reader.read()).value);
    expect(seen).toBe("1\n2\n3\n");
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    const [group] = JSON.parse((await runnel(["groups", "describe", "cli-stopper", "--json"])).stdout);
    expect(group.partitions[0]).toMatchObject({ committed: "3", lag: "0" });

    // More than a pipe holds, so the consumer is still writing when `head` goes away.
    await runnel(["produce", "cli-stop", "--linger-ms", "20"], { stdin: Array.from({ length: 30_000 }, (_, index) => `r${index}`).join("\n") });
    const piped = Bun.spawn(["bash", "-c", `set -o pipefail; ${binary.map((part) => `'${part}'`).join(" ")} consume cli-stop -o beginning -b ${broker.bootstrap} | head -n 1`], { stdout: "pipe", stderr: "pipe" });
    expect(await new Response(piped.stdout).text()).toBe("1\n");
    expect(await piped.exited).toBe(0); // the pipeline ended: consume saw the pipe close, and exited 0
  }, 30_000);
});

describe("cluster and bench", () => {
  test("cluster lists the broker and controller; bench produces and reads back", async () => {
    const cluster = await runnel(["cluster"]);
    expect(cluster.code).toBe(0);
    expect(cluster.stdout).toContain("Controller: 1");
    expect(cluster.stdout).toMatch(new RegExp(`\\b1\\s+${broker.host}\\s+${broker.port}\\b`));
    const bench = await runnel(["bench", "--records", "2000", "--record-bytes", "100", "--partitions", "2"]);
    expect(bench.code).toBe(0);
    expect(bench.stdout).toMatch(/^produce: 2,000 records of 100 B .* records\/s.*\nconsume: 2,000 records/);
    expect((await runnel(["topics", "list"])).stdout).not.toContain("runnel-bench");
  }, 30_000);
});
