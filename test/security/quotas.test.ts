// Client quotas: AlterClientQuotas / DescribeClientQuotas (entities, defaults, validation), and a
// producer over its producer_byte_rate throttled to within 10% of it (throttle_time_ms in the
// answers, its connection muted) while another user's producer, without a quota, is not slowed.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { AlterClientQuotasApi, CreateTopicsApi, DescribeClientQuotasApi, ProduceApi } from "../../src/protocol/generated/index.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

let broker: Broker;
const quotaBytesPerSecond = 256 * 1024;

const connectAs = (user: string) => connectTo(broker.listeners.get("SASL_PLAINTEXT")!, `${user}-producer`, {
  security: { sasl: { mechanism: "SCRAM-SHA-256", username: user, password: `${user}-secret` } },
});

beforeAll(async () => {
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,HTTP://127.0.0.1:0",
      "bootstrap.scram.users": "SCRAM-SHA-256=[name=alice,password=alice-secret,iterations=4096];SCRAM-SHA-256=[name=bob,password=bob-secret,iterations=4096]",
      "super.users": "User:alice;User:bob",
      "quota.window.num": 5,
      "quota.window.size.seconds": 1,
    },
  });
}, 30000);

afterAll(async () => {
  await broker?.stop();
});

const alter = (connection: KafkaConnection, entity: { entityType: string; entityName: string | null }[], ops: { key: string; value: number; remove: boolean }[], validateOnly = false) =>
  connection.request(AlterClientQuotasApi, { entries: [{ entity, ops }], validateOnly });

test("AlterClientQuotas / DescribeClientQuotas: entities, defaults, removal and validation", async () => {
  const admin = await connectAs("alice");
  try {
    expect((await alter(admin, [{ entityType: "user", entityName: "carol" }], [{ key: "consumer_byte_rate", value: 1000, remove: false }])).entries[0]!.errorCode).toBe(ErrorCode.NONE);
    expect((await alter(admin, [{ entityType: "user", entityName: null }, { entityType: "client-id", entityName: "app" }], [{ key: "producer_byte_rate", value: 5000, remove: false }])).entries[0]!.errorCode).toBe(ErrorCode.NONE);
    const bad = [
      await alter(admin, [{ entityType: "user", entityName: "carol" }], [{ key: "no_such_quota", value: 1, remove: false }]),
      await alter(admin, [{ entityType: "user", entityName: "carol" }], [{ key: "producer_byte_rate", value: 1.5, remove: false }]),
      await alter(admin, [{ entityType: "user", entityName: "carol" }], [{ key: "producer_byte_rate", value: -1, remove: false }]),
      await alter(admin, [{ entityType: "ip", entityName: "1.2.3.4" }, { entityType: "user", entityName: "x" }], [{ key: "producer_byte_rate", value: 1, remove: false }]),
    ];
    expect(bad.map((response) => response.entries[0]!.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    const users = await admin.request(DescribeClientQuotasApi, { components: [{ entityType: "user", matchType: 2, match: null }], strict: true });
    expect(users.entries).toEqual([{ entity: [{ entityType: "user", entityName: "carol" }], values: [{ key: "consumer_byte_rate", value: 1000 }] }]);
    const defaults = await admin.request(DescribeClientQuotasApi, { components: [{ entityType: "user", matchType: 1, match: null }], strict: false });
    expect(defaults.entries?.map((entry) => entry.values)).toEqual([[{ key: "producer_byte_rate", value: 5000 }]]);
    expect((await alter(admin, [{ entityType: "user", entityName: "carol" }], [{ key: "consumer_byte_rate", value: 0, remove: true }])).entries[0]!.errorCode).toBe(ErrorCode.NONE);
    expect((await alter(admin, [{ entityType: "user", entityName: null }, { entityType: "client-id", entityName: "app" }], [{ key: "producer_byte_rate", value: 0, remove: true }])).entries[0]!.errorCode).toBe(ErrorCode.NONE);
    const none = await admin.request(DescribeClientQuotasApi, { components: [], strict: false });
    expect(none.entries).toEqual([]);
  } finally {
    admin.close();
  }
});

/** Produce 16 KiB batches with 2 in flight for `durationMs`; bytes acknowledged after `warmupMs`, and the largest throttle seen. */
async function flood(connection: KafkaConnection, topic: string, durationMs: number, warmupMs: number): Promise<{ bytesPerSecond: number; maxThrottleMs: number }> {
  const batch = buildBatch({ batchNumber: 1, recordCount: 16, valueBytes: 1000 });
  const started = performance.now();
  let measuredBytes = 0;
  let maxThrottleMs = 0;
  const worker = async () => {
    while (performance.now() - started < durationMs) {
      const response = await connection.request(ProduceApi, {
        transactionalId: null, acks: 1, timeoutMs: 10000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
      });
      expect(response.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
      maxThrottleMs = Math.max(maxThrottleMs, response.throttleTimeMs);
      const now = performance.now();
      if (now - started >= warmupMs && now - started <= durationMs) measuredBytes += batch.length;
    }
  };
  await Promise.all([worker(), worker()]);
  return { bytesPerSecond: measuredBytes / ((durationMs - warmupMs) / 1000), maxThrottleMs };
}

test("a producer over its producer_byte_rate is throttled to within 10% of it; another user is not slowed", async () => {
  const alice = await connectAs("alice");
  const bob = await connectAs("bob");
  try {
    const created = await alice.request(CreateTopicsApi, {
      topics: ["quota-alice", "quota-bob"].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10000, validateOnly: false,
    });
    expect(created.topics.map((topic) => topic.errorCode)).toEqual([0, 0]);
    expect((await alter(alice, [{ entityType: "user", entityName: "alice" }], [{ key: "producer_byte_rate", value: quotaBytesPerSecond, remove: false }])).entries[0]!.errorCode).toBe(ErrorCode.NONE);
    const [throttled, free] = await Promise.all([flood(alice, "quota-alice", 8000, 3000), flood(bob, "quota-bob", 8000, 3000)]);
    console.log(`quota ${quotaBytesPerSecond / 1024} KiB/s: throttled user ${(throttled.bytesPerSecond / 1024).toFixed(1)} KiB/s (max throttle ${throttled.maxThrottleMs} ms), other user ${(free.bytesPerSecond / 1024).toFixed(0)} KiB/s`);
    expect(throttled.maxThrottleMs).toBeGreaterThan(0);
    expect(throttled.bytesPerSecond).toBeGreaterThan(quotaBytesPerSecond * 0.9);
    expect(throttled.bytesPerSecond).toBeLessThan(quotaBytesPerSecond * 1.1);
    expect(free.maxThrottleMs).toBe(0);
    expect(free.bytesPerSecond).toBeGreaterThan(quotaBytesPerSecond * 4);
  } finally {
    alice.close();
    bob.close();
  }
}, 30000);
