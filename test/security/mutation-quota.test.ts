// controller_mutation_rate (KIP-599): partitions created, added and deleted per second, as a token
// bucket of quota × the quota window. A strict request (CreateTopics v6+, DeleteTopics v5+,
// CreatePartitions v3) gets THROTTLING_QUOTA_EXCEEDED for the topics met once the bucket is below
// zero (the topic that empties it goes through) and changes nothing for them; an older version is
// admitted and only throttled; another user without the quota is never refused nor throttled.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { AlterClientQuotasApi, CreatePartitionsApi, CreateTopicsApi, DeleteTopicsApi, MetadataApi } from "../../src/protocol/generated/index.ts";
import { ZERO_UUID } from "../../src/protocol/primitives.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

let broker: Broker;
const users = ["admin", "carol", "bob"];
/** 1 partition a second over a 2 × 1 s window: a burst of 2. */
const mutationRate = 1;

const connectAs = (user: string) => connectTo(broker.listeners.get("SASL_PLAINTEXT")!, `${user}-app`, {
  security: { sasl: { mechanism: "SCRAM-SHA-256", username: user, password: `${user}-secret` } },
});

beforeAll(async () => {
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,HTTP://127.0.0.1:0",
      "bootstrap.scram.users": users.map((user) => `SCRAM-SHA-256=[name=${user},password=${user}-secret,iterations=4096]`).join(";"),
      "super.users": users.map((user) => `User:${user}`).join(";"),
      "quota.window.num": 2,
      "quota.window.size.seconds": 1,
    },
  });
}, 30000);

afterAll(async () => {
  await broker?.stop();
});

const createTopics = (connection: KafkaConnection, topics: [string, number][], version?: number) => connection.request(CreateTopicsApi, {
  topics: topics.map(([name, numPartitions]) => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10000, validateOnly: false,
}, version === undefined ? {} : { version });

async function partitionsOf(connection: KafkaConnection, topic: string): Promise<number | null> {
  const metadata = await connection.request(MetadataApi, { topics: [{ name: topic }], allowAutoTopicCreation: false });
  const found = metadata.topics[0]!;
  return found.errorCode === ErrorCode.NONE ? found.partitions.length : null;
}

test("over controller_mutation_rate: strict requests refused with THROTTLING_QUOTA_EXCEEDED, old versions throttled, others untouched", async () => {
  const admin = await connectAs("admin");
  const carol = await connectAs("carol");
  // A throttled answer mutes its connection until the bucket is back to zero: the requests that
  // must meet the bucket still below zero go on other connections of the same user and client id
  // (they share the bucket), opened beforehand.
  const [carolAgain, carolThird, carolFourth] = await Promise.all([connectAs("carol"), connectAs("carol"), connectAs("carol")]);
  const bob = await connectAs("bob");
  try {
    const altered = await admin.request(AlterClientQuotasApi, {
      entries: [{ entity: [{ entityType: "user", entityName: "carol" }], ops: [{ key: "controller_mutation_rate", value: mutationRate, remove: false }] }], validateOnly: false,
    });
    expect(altered.entries[0]!.errorCode).toBe(ErrorCode.NONE);

    // 1 of the 2 tokens, then 4 more (admitted: the bucket was not below zero), then refused.
    const created = await createTopics(carol, [["mq-1", 1], ["mq-2", 4], ["mq-3", 1]]);
    expect(created.topics.map((topic) => topic.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.THROTTLING_QUOTA_EXCEEDED]);
    expect(created.topics[2]!.errorMessage).toBe("The throttling quota has been exceeded.");
    // Three tokens below zero at 1 a second: about three seconds, never more.
    expect(created.throttleTimeMs).toBeGreaterThan(0);
    expect(created.throttleTimeMs).toBeLessThanOrEqual(3000);
    expect(await partitionsOf(admin, "mq-3")).toBeNull();

    const deleted = await carolAgain.request(DeleteTopicsApi, { topicNames: [], topics: [{ name: "mq-1", topicId: ZERO_UUID }], timeoutMs: 10000 });
    expect(deleted.responses.map((response) => response.errorCode)).toEqual([ErrorCode.THROTTLING_QUOTA_EXCEEDED]);
    expect(deleted.throttleTimeMs).toBeGreaterThan(0);
    const grown = await carolThird.request(CreatePartitionsApi, { topics: [{ name: "mq-2", count: 6, assignments: null }], timeoutMs: 10000, validateOnly: false }, { version: 3 });
    expect(grown.results.map((result) => result.errorCode)).toEqual([ErrorCode.THROTTLING_QUOTA_EXCEEDED]);
    expect(await partitionsOf(admin, "mq-1")).toBe(1);
    expect(await partitionsOf(admin, "mq-2")).toBe(4);

    // CreateTopics v5 predates THROTTLING_QUOTA_EXCEEDED: admitted, and throttled.
    const old = await createTopics(carolFourth, [["mq-4", 1]], 5);
    expect(old.topics.map((topic) => topic.errorCode)).toEqual([ErrorCode.NONE]);
    expect(old.throttleTimeMs).toBeGreaterThan(0);

    // bob has no quota: 9 partitions at once, no refusal, no throttle.
    const free = await createTopics(bob, [["mq-bob-1", 3], ["mq-bob-2", 3], ["mq-bob-3", 3]]);
    expect(free.topics.map((topic) => topic.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE]);
    expect(free.throttleTimeMs).toBe(0);
    const freeDelete = await bob.request(DeleteTopicsApi, { topicNames: [], topics: ["mq-bob-1", "mq-bob-2", "mq-bob-3"].map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs: 10000 });
    expect(freeDelete.responses.map((response) => response.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE]);
    expect(freeDelete.throttleTimeMs).toBe(0);
  } finally {
    admin.close();
    carol.close();
    carolAgain.close();
    carolThird.close();
    carolFourth.close();
    bob.close();
  }
}, 30000);
