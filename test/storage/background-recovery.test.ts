// Recovery at start does not hold up partitions that are ready: the node replays its metadata, the
// reconciler queues the logs the image names for recovery in the background
// (num.recovery.threads.per.data.dir at a time; ReplicaManager), the listener opens, and each
// partition is led as soon as its log has recovered. A partition held in recovery (the
// LogManager's beforeRecovery test hook) is reported LEADER_NOT_AVAILABLE by Metadata and
// NOT_LEADER_OR_FOLLOWER by Produce/Fetch/ListOffsets (retriable), while the others are served; the
// shared client's producer retries into it once it has recovered. Deleting a partition that is
// still recovering removes its files; a shutdown before recovery finished after an unclean start
// names the unrecovered logs in the clean-shutdown marker (their checkpoints are not exact).

import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KafkaClient } from "../../src/client/client.ts";
import { Producer } from "../../src/client/producer.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import type { BrokerContext } from "../../src/kafka/context.ts";
import { handlers } from "../../src/kafka/handlers/index.ts";
import { startKafkaServer } from "../../src/kafka/listener.ts";
import { startBrokerCore } from "../../src/node.ts";
import { ErrorCode, FetchApi, ListOffsetsApi, MetadataApi, ProduceApi } from "../../src/protocol/index.ts";
import { appendToPartition } from "../../src/replication/index.ts";
import { createLogManager, type DataDirLogManager } from "../../src/storage/index.ts";
import { cleanShutdownFile } from "../../src/storage/log-manager.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { systemClock } from "../../src/util/clock.ts";
import { createLogger, setLogLevel } from "../../src/util/logger.ts";
import { connectTo } from "../helpers/connection.ts";

if (process.env.RUNNEL_LOG_LEVEL === undefined) setLogLevel("error");

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const endpoint = (port: number) => [{ name: "PLAINTEXT", host: "127.0.0.1", port, securityProtocol: 0 }];

function configFor(dataDir: string, threads = 2) {
  return loadBrokerConfig({ overrides: [["log.dirs", dataDir], ["offsets.topic.num.partitions", "1"], ["num.recovery.threads.per.data.dir", String(threads)]] });
}

function manager(dataDir: string, beforeRecovery?: (topic: string, partition: number) => Promise<void>): DataDirLogManager {
  return createLogManager({ dataDir, brokerConfig: configFor(dataDir).values, backgroundTasks: false, beforeRecovery });
}

/** A data directory with topic "t" of three partitions, one batch of two records each; closed cleanly or not. */
async function prepared(clean: boolean): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-bg-recovery-"));
  directories.push(dataDir);
  const logs = manager(dataDir);
  await logs.open();
  const core = await startBrokerCore({ loaded: configFor(dataDir), dataDir, nodeId: 1, logs, cleanShutdown: true });
  await core.register(endpoint(9001));
  await core.whenReady();
  await core.admin.createTopic({ name: "t", numPartitions: 3, replicationFactor: -1, assignments: null, configs: {} });
  for (let partition = 0; partition < 3; partition++) {
    await appendToPartition(core, "t", partition, buildBatch({ batchNumber: partition, recordCount: 2, valueBytes: 16 }), 1, 1000);
  }
  await core.close();
  if (clean) await logs.close();
  else for (const log of logs.all()) await log.flush(); // left open, as after kill -9: no clean-shutdown marker
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
  await logs.open();
  const loaded = configFor(dataDir);
  const core = await startBrokerCore({ loaded, dataDir, nodeId: 1, logs, cleanShutdown: logs.foundCleanShutdown });
  expect(core.replicas.recoveryState("t", 1)).toBe("recovering");
  const bind = { name: "PLAINTEXT", host: "127.0.0.1", port: 0 };
  const broker: BrokerContext = {
    config: loaded, nodeId: 1, clusterId: "AAAAAAAAAAAAAAAAAAAAAQ", advertised: bind,
    metadata: core.publisher, topicConfigs: core.topicConfigs, admin: core.admin, replicas: core.replicas, producerIds: core.producerIds,
    groups: core.groups, clock: systemClock, log: createLogger("kafka"), apiRanges: [],
  };
  const server = startKafkaServer(broker, handlers, bind, broker.log);
  broker.advertised = { ...bind, port: server.port };
  await core.register(endpoint(server.port));
  const registered = core.whenReady(); // ready once t-1 has recovered too
  const connection = await connectTo(`127.0.0.1:${server.port}`);
  const client = new KafkaClient({ bootstrap: `127.0.0.1:${server.port}`, retryBackoffMaxMs: 50 });
  try {
    await until(() => core.replicas.partition("t", 0)?.isLeader === true && core.replicas.partition("t", 2)?.isLeader === true);
    expect(core.replicas.recoveryState("t", 1)).toBe("recovering");

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
    await registered;
    expect(core.replicas.recoveryState("t", 1)).toBeNull();
  } finally {
    held.open();
    connection.close();
    await client.close();
    await server.close();
    await core.close();
    await logs.close();
  }
}, 20_000);

test("deleting a topic whose partition is still recovering removes its files once that recovery step ends", async () => {
  const dataDir = await prepared(true);
  const held = gate();
  const logs = manager(dataDir, (topic, partition) => (topic === "t" && partition === 2 ? held.wait : Promise.resolve()));
  await logs.open();
  const core = await startBrokerCore({ loaded: configFor(dataDir), dataDir, nodeId: 1, logs, cleanShutdown: logs.foundCleanShutdown });
  await core.register(endpoint(9001));
  const registered = core.whenReady();
  await until(() => core.replicas.partition("t", 1)?.isLeader === true);
  expect(core.replicas.recoveryState("t", 2)).toBe("recovering");
  const deleting = core.admin.deleteTopic("t");
  await until(() => !existsSync(join(dataDir, "t-1")));
  held.open();
  await deleting;
  expect(existsSync(join(dataDir, "t-2"))).toBe(false);
  expect(core.replicas.recoveryState("t", 2)).toBeNull();
  expect(core.replicas.partition("t", 2)).toBeUndefined();
  await registered;
  await core.close();
  await logs.close();
});

test("a shutdown before recovery finished names the unrecovered partitions in the clean-shutdown marker unless the previous shutdown was clean", async () => {
  for (const clean of [false, true]) {
    const dataDir = await prepared(clean);
    const held = gate();
    const logs = manager(dataDir, (topic, partition) => (topic === "t" && partition === 0 ? held.wait : Promise.resolve()));
    await logs.open();
    const core = await startBrokerCore({ loaded: configFor(dataDir, 1), dataDir, nodeId: 1, logs, cleanShutdown: logs.foundCleanShutdown });
    // One recovery at a time: t-0 is held, t-1 and t-2 wait behind it; stop before their turn.
    const stopped = core.replicas.stopRecovery();
    held.open();
    await stopped;
    expect(core.replicas.recoveryState("t", 2)).toBe("recovering");
    await core.close();
    await logs.close();
    // The marker is written either way; it names the partitions whose checkpoints are not exact
    // (never recovered in this run after an unclean one), so that only they are rescanned.
    expect(existsSync(join(dataDir, cleanShutdownFile))).toBe(true);
    const named = readFileSync(join(dataDir, cleanShutdownFile), "utf8");
    // (One recovery at a time: t-0 finished, t-1 and t-2 never started.)
    expect({ clean, named }).toEqual({ clean, named: clean ? "" : "t 1\nt 2\n" });
    // Whatever the marker says, the next start finds every record.
    const again = manager(dataDir);
    await again.open();
    await again.openFound();
    expect([0, 1, 2].map((partition) => again.get("t", partition)!.logEndOffset)).toEqual([2n, 2n, 2n]);
    await again.close();
  }
});
