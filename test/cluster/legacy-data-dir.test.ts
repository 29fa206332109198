// A real broker process started on a data directory written before the metadata log (a copy of
// test/fixtures/legacy-data-dir, written by commit 3c87fa7): it opens, keeps every topic with its
// id, every record, the group's committed offsets and the producer-id reservation, and serves on.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { InitProducerIdApi, MetadataApi, OffsetFetchApi } from "../../src/protocol/generated/index.ts";
import { run, startBroker, type Broker } from "../helpers/broker.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { connectTo } from "../helpers/connection.ts";

const fixture = join(import.meta.dir, "../fixtures/legacy-data-dir/datadir");
const legacyTopics = JSON.parse(readFileSync(join(fixture, "__cluster_metadata", "topics.json"), "utf8")).topics as { name: string; id: string }[];
let dataDir: string;
let broker: Broker;
let client: KafkaConnection;

/** One request at an exact version, answered body (the shared client: test/helpers/connection.ts). */
function call(api: AnyApi, version: number, body: unknown): Promise<any> {
  return client.request(api, body as never, { version });
}

const kcat = (args: string[]) => run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", ...args], { timeoutMs: 30000 });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "runnel-legacy-node-"));
  cpSync(fixture, dataDir, { recursive: true });
  broker = await startBroker({ dataDir });
  client = await connectTo(broker.bootstrap);
});

afterAll(async () => {
  client?.close();
  await broker?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test("topics keep their ids; topics.json is renamed once migrated", async () => {
  const metadata = await call(MetadataApi, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const ids = new Map(metadata.topics.map((topic: { name: string; topicId: string }) => [topic.name, topic.topicId]));
  for (const topic of legacyTopics) expect(ids.get(topic.name)).toBe(topic.id);
  expect(existsSync(join(dataDir, "__cluster_metadata", "topics.json"))).toBe(false);
  expect(existsSync(join(dataDir, "__cluster_metadata", "topics.json.migrated"))).toBe(true);
});

test("every record is still there and more can be appended", async () => {
  const read = async () => new TextDecoder().decode((await kcat(["-C", "-t", "orders", "-e", "-o", "beginning", "-f", "%p:%o:%s\\n"])).stdout).trim().split("\n");
  const records = await read();
  expect(records.length).toBe(30);
  expect(new Set(records.map((line) => line.split(":").slice(2).join(":")))).toEqual(new Set(Array.from({ length: 30 }, (_, index) => `order-${index}`)));
  await run(["kcat", "-b", broker.bootstrap, "-X", "broker.address.family=v4", "-P", "-t", "orders", "-p", "0"], { stdin: "after-migration\n" });
  const after = await read();
  expect(after).toContain("0:10:after-migration");
});

test("the group's committed offsets and the producer-id reservation survive", async () => {
  const fetched = await call(OffsetFetchApi, 7, { groupId: "legacy-group", topics: [{ name: "orders", partitionIndexes: [0, 1, 2] }], requireStable: false });
  expect(fetched.errorCode).toBe(0);
  expect(fetched.topics[0].partitions.map((partition: { committedOffset: bigint }) => partition.committedOffset)).toEqual([7n, 4n, -1n]);
  const producer = await call(InitProducerIdApi, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 });
  expect(producer.errorCode).toBe(ErrorCode.NONE);
  expect(producer.producerId).toBeGreaterThanOrEqual(1000n); // ids below 1000 were reserved by the old code
});
