// A long-poll Fetch over many partitions (the bench's consumer of 1,000 partitions): it parks one
// waiter per partition, the first append wakes it once, and every waiter is gone when the request
// completes — woken, timed out, or its connection closed. Leftover waiters would make every later
// append pay for requests long answered.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CreateTopicsApi, FetchApi, ProduceApi } from "../../src/protocol/generated/index.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startInProcess, type InProcessServer } from "./in-process.ts";
import { decodeResponse, encodeRequest, RawConnection } from "../helpers/raw-wire.ts";

const partitionCount = 200;
let server: InProcessServer;

beforeAll(async () => {
  server = await startInProcess();
});
afterAll(async () => {
  await server.close();
});

function logsOf(topic: string) {
  return Array.from({ length: partitionCount }, (_, partition) => server.logs.get(topic, partition)!);
}

function waiterCounts(topic: string): number[] {
  return logsOf(topic).map((log) => log.waiterCount);
}

/** Awaits a condition the broker reaches asynchronously (bounded, not a fixed sleep). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(1);
  }
}

async function createTopic(client: RawConnection, name: string, correlationId: number): Promise<void> {
  await client.send(encodeRequest(CreateTopicsApi, 4, correlationId, {
    topics: [{ name, numPartitions: partitionCount, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false,
  }));
  await client.waitFrames(client.frames.length + 1);
}

function fetchAll(topic: string, maxWaitMs: number) {
  return {
    replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: Array.from({ length: partitionCount }, (_, partition) => ({ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1 })) }],
    forgottenTopicsData: [], rackId: "",
  };
}

function produce(topic: string, partitions: number[]) {
  return {
    acks: 1, timeoutMs: 1000, transactionalId: null,
    topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: buildBatch({ batchNumber: index, recordCount: 2, valueBytes: 100 }) })) }],
  };
}

describe("long-poll Fetch over many partitions", () => {
  test("one waiter per partition while parked; one append of a Produce request to three partitions answers once with all three; no waiter left", async () => {
    const admin = await RawConnection.connect(server.bootstrap);
    const consumer = await RawConnection.connect(server.bootstrap);
    await createTopic(admin, "many-woken", 1);
    await consumer.send(encodeRequest(FetchApi, 11, 10, fetchAll("many-woken", 30_000)));
    await until(() => waiterCounts("many-woken").every((count) => count === 1), "a waiter on every partition");
    await admin.send(encodeRequest(ProduceApi, 7, 2, produce("many-woken", [5, 77, 150])));
    const [fetched] = await consumer.waitFrames(1);
    const response = decodeResponse(FetchApi, 11, fetched!).body;
    const withData = response.responses[0].partitions.filter((partition: { records: Uint8Array }) => partition.records.length > 0);
    expect(withData.map((partition: { partitionIndex: number }) => partition.partitionIndex)).toEqual([5, 77, 150]);
    expect(response.responses[0].partitions.length).toBe(partitionCount);
    expect(waiterCounts("many-woken").every((count) => count === 0)).toBe(true);
    await admin.waitFrames(2);
    admin.close();
    consumer.close();
  });

  test("timed out or connection closed: every waiter removed", async () => {
    const admin = await RawConnection.connect(server.bootstrap);
    await createTopic(admin, "many-idle", 1);
    const timedOut = await RawConnection.connect(server.bootstrap);
    await timedOut.send(encodeRequest(FetchApi, 11, 3, fetchAll("many-idle", 50)));
    const [answer] = await timedOut.waitFrames(1);
    const partitions = decodeResponse(FetchApi, 11, answer!).body.responses[0].partitions;
    expect(partitions.length).toBe(partitionCount);
    expect(partitions.every((partition: { errorCode: number; records: Uint8Array }) => partition.errorCode === 0 && partition.records.length === 0)).toBe(true);
    expect(waiterCounts("many-idle").every((count) => count === 0)).toBe(true);
    timedOut.close();

    const closing = await RawConnection.connect(server.bootstrap);
    await closing.send(encodeRequest(FetchApi, 11, 4, fetchAll("many-idle", 30_000)));
    await until(() => waiterCounts("many-idle").every((count) => count === 1), "a waiter on every partition");
    closing.close();
    await until(() => waiterCounts("many-idle").every((count) => count === 0), "every waiter removed after the close");
    admin.close();
  });
});
