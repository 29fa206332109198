// A damaged batch header in a trusted segment, seen through a real broker process: produce to two
// partitions, stop the broker cleanly (so its segments are trusted at the next start and not
// CRC-scanned), flip a bit in a batch length of partition 0's second segment, start it again and
// Fetch both partitions in one request. Kafka answers a fetch of a corrupt log with the partition's
// error CORRUPT_MESSAGE (its CorruptRecordException on read); the other partition is served, and
// a fetch of partition 0 from before the damage returns the batches up to it.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildRecordBatch, splitBatches } from "../../src/protocol/record-batch.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";

const { ProduceApi, FetchApi, CreateTopicsApi } = generated as unknown as Record<string, AnyApi>;
const topic = "damaged";
const batchCount = 30;
const recordsPerBatch = 4;
let broker: Broker;
let connection: KafkaConnection;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  connection?.close();
  await broker?.stop();
});

function fetchBody(partitions: { partition: number; fetchOffset: bigint }[]) {
  return {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{
      topic,
      partitions: partitions.map(({ partition, fetchOffset }) => ({
        partition, fetchOffset, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1,
      })),
    }],
    forgottenTopicsData: [], rackId: "",
  };
}

/** Byte positions of the batches of a segment file (they lie back to back). */
function batchPositions(path: string): number[] {
  const bytes = readFileSync(path);
  const positions: number[] = [];
  for (let position = 0; position + 12 <= bytes.length; position += bytes.readInt32BE(position + 8) + 12) positions.push(position);
  return positions;
}

test("Fetch of a partition with a damaged batch length answers CORRUPT_MESSAGE for it and serves the other partition", async () => {
  connection = await connectTo(broker.bootstrap);
  const created = await connection.request(CreateTopicsApi!, {
    topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: "segment.bytes", value: "8192" }] }],
    timeoutMs: 5000,
  }, { version: 4 });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  for (let batchNumber = 0; batchNumber < batchCount; batchNumber++) {
    const records = Array.from({ length: recordsPerBatch }, (_, index) => ({ value: new TextEncoder().encode(`${batchNumber}-${index}-`.padEnd(200, "x")) }));
    const response = await connection.request(ProduceApi!, {
      transactionalId: null, acks: -1, timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [0, 1].map((index) => ({ index, records: buildRecordBatch({ records }) })) }],
    }, { version: 8 });
    for (const partition of response.responses[0].partitionResponses) expect(partition.errorCode).toBe(ErrorCode.NONE);
  }
  connection.close();
  expect(await broker.shutdown()).toBe(0);

  // Partition 0: the fourth batch of the second segment gets a bit flipped in its length field.
  const directory = join(broker.dataDir, `${topic}-0`);
  const segments = readdirSync(directory).filter((name) => name.endsWith(".log")).sort();
  expect(segments.length).toBeGreaterThan(2);
  const path = join(directory, segments[1]!);
  const positions = batchPositions(path);
  const victimPosition = positions[3]!;
  const bytes = readFileSync(path);
  const victimBase = bytes.readBigInt64BE(victimPosition);
  const previousBase = bytes.readBigInt64BE(positions[2]!);
  bytes[victimPosition + 9]! ^= 1 << 5;
  writeFileSync(path, bytes);

  await broker.start(broker.port);
  connection = await connectTo(broker.bootstrap);
  const response = await connection.request(FetchApi!, fetchBody([
    { partition: 0, fetchOffset: victimBase },
    { partition: 1, fetchOffset: victimBase },
  ]), { version: 11 });
  expect(response.errorCode).toBe(ErrorCode.NONE);
  const [damaged, healthy] = response.responses[0].partitions;
  expect(damaged.partitionIndex).toBe(0);
  expect(damaged.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  expect(damaged.records?.length ?? 0).toBe(0);
  expect(healthy.partitionIndex).toBe(1);
  expect(healthy.errorCode).toBe(ErrorCode.NONE);
  expect(healthy.highWatermark).toBe(BigInt(batchCount * recordsPerBatch));
  const served = splitBatches(healthy.records);
  expect(served[0]!.header.baseOffset).toBe(victimBase);

  // Partition 0 from the batch before the damage: that batch, and nothing from the damaged one on.
  const before = await connection.request(FetchApi!, fetchBody([{ partition: 0, fetchOffset: previousBase }]), { version: 11 });
  const partition = before.responses[0].partitions[0];
  expect(partition.errorCode).toBe(ErrorCode.NONE);
  expect(splitBatches(partition.records).map((batch) => batch.header.baseOffset)).toEqual([previousBase]);

  // The broker is still up and serves partition 0 past the damaged segment.
  const later = await connection.request(FetchApi!, fetchBody([{ partition: 0, fetchOffset: BigInt(segments[2]!.slice(0, 20)) }]), { version: 11 });
  expect(later.responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
  expect(splitBatches(later.responses[0].partitions[0].records).length).toBeGreaterThan(0);
});
