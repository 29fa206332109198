// Recovery at start does not hold up partitions that are ready: LogManager.open({ background })
// finds the partitions, the node's listener opens, then they recover a few at a time. A partition
// held in recovery (the beforeRecovery test hook) is reported LEADER_NOT_AVAILABLE by Metadata and
// NOT_LEADER_OR_FOLLOWER by Produce/Fetch/ListOffsets (retriable), while the others are served;
// the shared client's producer retries into it once it has recovered. Deleting a partition that
// is still recovering removes its files; a shutdown before recovery finished after an unclean
// start writes no clean-shutdown marker (the unrecovered logs' checkpoints are not exact).

import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KafkaClient } from "../../src/client/client.ts";
import { connectTo } from "../helpers/connection.ts";
import { Producer } from "../../src/client/producer.ts";
import { ClusterStore } from "../../src/cluster/index.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import type { BrokerContext } from "../../src/kafka/context.ts";
import { handlers } from "../../src/kafka/handlers/index.ts";
import { startKafkaServer } from "../../src/kafka/listener.ts";
import { ErrorCode, FetchApi, ListOffsetsApi, MetadataApi, ProduceApi } from "../../src/protocol/index.ts";
import { createLogManager, type DataDirLogManager } from "../../src/storage/index.ts";
import { cleanShutdownFile } from "../../src/storage/log-manager.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { systemClock } from "../../src/util/clock.ts";
import { createLogger, setLogLevel } from "../../src/util/logger.ts";

if (process.env.RUNNEL_LOG_LEVEL === undefined) setLogLevel("error");

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function manager(dataDir: string, beforeRecovery?: (topic: string, partition: number) => Promise<void>): DataDirLogManager {
  const loaded = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] });
  return createLogManager({ dataDir, brokerConfig: loaded.values, backgroundTasks: false, beforeRecovery, recoveryThreads: 2 });
}

/** A data directory with topic "t" of three partitions, one batch each; closed cleanly or not. */
async function prepared(clean: boolean): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-bg-recovery-"));
  directories.push(dataDir);
  const loaded = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] });
  const logs = manager(dataDir);
  await logs.open();
  const cluster = await ClusterStore.open({ dataDir, config: loaded, logs });
  await cluster.createTopic("t", 3, {});
  for (let partition = 0; partition < 3; partition++) await logs.get("t", partition)!.append(buildBatch({ batchNumber: partition, recordCount: 2, valueBytes: 16 }));
  if (clean) {
    await cluster.close();
    await logs.close();
  } else {
    for (const log of logs.all()) await log.flush();
    await cluster.close(); // the logs are left open, as after kill -9: no clean-shutdown marker
  }
  return dataDir;
}

/** A gate the test opens: recovery of the held partition waits on it. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await Bun.sleep(1);
}

test("a partition still recovering is refused with retriable errors while the others are served", async () => {
  const dataDir = await prepared(false);
  const held = gate();
  const logs = manager(dataDir, (topic, partition) => (topic === "t" && partition === 1 ? held.wait : Promise.resolve()));
  await logs.open({ background: true });
  expect(logs.recoveryState("t", 1)).toBe("recovering");
  expect(logs.get("t", 0)).toBeUndefined(); // nothing recovers before the node starts recovery
  const loaded = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] });
  const cluster = await ClusterStore.open({ dataDir, config: loaded, logs });
  const bind = { name: "PLAINTEXT", host: "127.0.0.1", port: 0 };
  const broker: BrokerContext = {
    config: loaded, nodeId: 1, clusterId: "AAAAAAAAAAAAAAAAAAAAAQ", advertised: bind,
    logs, cluster, clock: systemClock, log: createLogger("kafka"), apiRanges: [],
  };
  const server = startKafkaServer(broker, handlers, bind, broker.log);
  broker.advertised = { ...bind, port: server.port };
  const recovering = logs.startRecovery();
  const connection = await connectTo(`127.0.0.1:${server.port}`);
  const client = new KafkaClient({ bootstrap: `127.0.0.1:${server.port}`, retryBackoffMaxMs: 50 });
  try {
    await until(() => logs.get("t", 0) !== undefined && logs.get("t", 2) !== undefined);
    expect(logs.recoveryState("t", 1)).toBe("recovering");
    expect(logs.partitionsOnDisk().filter((entry) => entry.topic === "t").map((entry) => entry.partition).sort()).toEqual([0, 1, 2]);

    const metadata = await connection.request(MetadataApi, { topics: [{ name: "t" }] });
    expect(metadata.topics[0]!.partitions.map((partition) => [partition.partitionIndex, partition.errorCode, partition.leaderId])).toEqual([
      [0, ErrorCode.NONE, 1], [1, ErrorCode.LEADER_NOT_AVAILABLE, -1], [2, ErrorCode.NONE, 1],
    ]);
    const produced = await connection.request(ProduceApi, {
      acks: 1, timeoutMs: 1000,
      topicData: [{ name: "t", partitionData: [0, 1].map((index) => ({ index, records: buildBatch({ batchNumber: 10 + index, recordCount: 1, valueBytes: 16 }) })) }],
    });
    expect(produced.responses[0]!.partitionResponses.map((partition) => [partition.index, partition.errorCode, partition.baseOffset])).toEqual([
      [0, ErrorCode.NONE, 2n], [1, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1n],
    ]);
    const fetched = await connection.request(FetchApi, {
      maxWaitMs: 0, topics: [{ topic: "t", partitions: [{ partition: 1, fetchOffset: 0n, partitionMaxBytes: 1 << 16 }] }],
    }, { version: 11 });
    expect(fetched.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const offsets = await connection.request(ListOffsetsApi, { topics: [{ name: "t", partitions: [{ partitionIndex: 1, timestamp: -1n }] }] });
    expect(offsets.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);

    // A client keeps retrying the partition and gets in once it has recovered.
    const producer = new Producer(client, { lingerMs: 0 });
    const pending = producer.send({ topic: "t", partition: 1, value: "after recovery" });
    await Bun.sleep(20); // let it be refused at least once (the test checks it does not give up)
    held.open();
    expect((await pending).offset).toBe(2n);
    await producer.close();
    await recovering;
    expect(logs.recoveryState("t", 1)).toBeNull();
  } finally {
    held.open();
    connection.close();
    await client.close();
    await server.close();
    await cluster.close();
    await logs.close();
  }
}, 20_000);

test("deleting a partition that is still recovering removes its files", async () => {
  const dataDir = await prepared(true);
  const held = gate();
  const logs = manager(dataDir, (_topic, partition) => (partition === 2 ? held.wait : Promise.resolve()));
  await logs.open({ background: true });
  const recovering = logs.startRecovery();
  await until(() => logs.get("t", 1) !== undefined);
  expect(logs.recoveryState("t", 2)).toBe("recovering");
  await logs.delete("t", 2);
  expect(existsSync(join(dataDir, "t-2"))).toBe(false);
  expect(logs.recoveryState("t", 2)).toBeNull();
  held.open();
  await recovering;
  expect(logs.get("t", 2)).toBeUndefined();
  await logs.close();
});

test("a shutdown before recovery finished writes the clean-shutdown marker only when the previous one was clean", async () => {
  for (const clean of [false, true]) {
    const dataDir = await prepared(clean);
    const held = gate();
    const logs = manager(dataDir, (_topic, partition) => (partition === 0 ? held.wait : Promise.resolve()));
    await logs.open({ background: true });
    void logs.startRecovery();
    const stopped = logs.stopRecovery();
    held.open();
    await stopped;
    expect(logs.recoveryState("t", 2)).toBe("recovering"); // stopped before its turn
    await logs.close();
    expect({ clean, marker: existsSync(join(dataDir, cleanShutdownFile)) }).toEqual({ clean, marker: clean });
    // Whatever the marker says, the next start finds every record.
    const again = manager(dataDir);
    await again.open();
    expect([0, 1, 2].map((partition) => again.get("t", partition)!.logEndOffset)).toEqual([2n, 2n, 2n]);
    await again.close();
  }
});

