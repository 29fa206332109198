// Starting Runnel for a scenario, creating the bench topic, and reading the broker process's
// memory from /proc. `RUNNEL_BENCH_BROKER=host:port` benches an already running broker (any
// Kafka-compatible one) instead of starting Runnel.

import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { assert } from "../../src/util/assert.ts";
import { spawnChild } from "../lib/process.ts";
import type { Child } from "../lib/process.ts";
import { createTopics, KafkaClient } from "../../src/client/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

export const repoRoot = resolve(import.meta.dir, "../..");
export const benchTmpRoot = join(repoRoot, "bench/results/tmp");

export class BrokerUnavailable extends Error {}

export interface RunningBroker {
  host: string;
  port: number;
  pid: number | null;
  dataDir: string | null;
  stop(): Promise<void>;
}

export interface BrokerOptions {
  /** Broker config keys (`--set key=value`). */
  settings: Record<string, string>;
}

export function benchTmpDir(prefix: string): string {
  mkdirSync(benchTmpRoot, { recursive: true });
  return mkdtempSync(join(benchTmpRoot, `${prefix}-`));
}

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const external = process.env.RUNNEL_BENCH_BROKER;
  if (external) {
    const [host, port] = external.split(":");
    assert(host && port, "RUNNEL_BENCH_BROKER must be host:port");
    return { host, port: Number(port), pid: null, dataDir: null, stop: async () => {} };
  }
  const main = join(repoRoot, "src/main.ts");
  if (!existsSync(main)) throw new BrokerUnavailable("src/main.ts does not exist yet");
  const dataDir = benchTmpDir("runnel");
  const cmd = [process.execPath, main, "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0", "--host", "127.0.0.1"];
  for (const [key, value] of Object.entries(options.settings)) cmd.push("--set", `${key}=${value}`);
  let child: Child;
  try {
    child = await spawnChild({ cmd, cwd: repoRoot, ready: /runnel ready: kafka on ([\d.]+):(\d+)/, readyTimeoutMs: 20_000 });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new BrokerUnavailable(`the broker did not start: ${(error as Error).message.slice(0, 800)}`);
  }
  return {
    host: child.match[1]!,
    port: Number(child.match[2]),
    pid: child.pid,
    dataDir,
    async stop() {
      await child.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates `topic` (any broker: standard CreateTopics) and waits until every partition has a leader. */
export async function createTopic(broker: RunningBroker, topic: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const client = new KafkaClient({ bootstrap: `${broker.host}:${broker.port}`, clientId: "runnel-bench" });
  try {
    const [created] = await createTopics(client, [{ name: topic, partitions, replicationFactor: 1, configs }]);
    if (created!.errorCode !== ErrorCode.NONE && created!.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      throw new Error(`CreateTopics ${topic}: error code ${created!.errorCode} ${created!.errorMessage ?? ""}`);
    }
    await client.retry(`leaders of ${topic}`, async () => {
      const info = await client.topicMetadata(topic, { refresh: true });
      if (info.partitions.length !== partitions || info.partitions.some((entry) => entry.leader < 0)) {
        throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `topic ${topic} has no leaders yet`);
      }
    }, { timeoutMs: 30_000 });
  } finally {
    await client.close();
  }
}

export interface ProcessMemory {
  rssBytes: number;
  rssAnonBytes: number;
  rssFileBytes: number;
  /** Virtual size of file mappings under the data directory (segments, indexes). */
  dataMappedBytes: number;
  dataMappings: number;
  /** Resident part of those mappings (from smaps). */
  dataMappedResidentBytes: number;
}

/** Memory of a process from /proc (Linux); null when unavailable. */
export function processMemory(pid: number, dataDir: string | null): ProcessMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? 0) * 1024;
    let dataMappedBytes = 0;
    let dataMappings = 0;
    let dataMappedResidentBytes = 0;
    if (dataDir) {
      // smaps: a mapping header line, then "Rss: N kB" among its fields.
      const smaps = readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n");
      let inData = false;
      for (const line of smaps) {
        const header = line.match(/^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/);
        if (header) {
          inData = header[3]!.startsWith(dataDir);
          if (inData) {
            dataMappings += 1;
            dataMappedBytes += parseInt(header[2]!, 16) - parseInt(header[1]!, 16);
          }
          continue;
        }
        if (inData && line.startsWith("Rss:")) dataMappedResidentBytes += Number(line.match(/(\d+)/)?.[1] ?? 0) * 1024;
      }
    }
    return { rssBytes: kib("VmRSS"), rssAnonBytes: kib("RssAnon"), rssFileBytes: kib("RssFile"), dataMappedBytes, dataMappings, dataMappedResidentBytes };
  } catch {
    return null;
  }
}
