// Fetch sessions (KIP-227) over the wire, against the in-process Kafka server: a session opened
// with epoch 0 answers in full, later incremental requests get only the partitions with something
// new, forgotten partitions leave the session, and bad ids or epochs get Kafka's errors.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopicsApi, FetchApi, ProduceApi } from "../../src/protocol/generated/index.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { decodeResponse, encodeRequest, RawConnection } from "../helpers/raw-wire.ts";
import { startInProcess, type InProcessServer } from "./in-process.ts";

let server: InProcessServer;
let client: RawConnection;
let correlation = 0;
let answered = 0;
const topic = "sessions";
const partitionCount = 20;

beforeAll(async () => {
  server = await startInProcess();
  client = await RawConnection.connect(server.bootstrap);
  await call(CreateTopicsApi, 4, { topics: [{ name: topic, numPartitions: partitionCount, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
});
afterAll(async () => {
  client.close();
  await server.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(api: any, version: number, body: unknown): Promise<any> {
  await client.send(encodeRequest(api, version, ++correlation, body));
  const frames = await client.waitFrames(++answered);
  return decodeResponse(api, version, frames[answered - 1]!).body;
}

async function produce(partition: number, batchNumber: number): Promise<void> {
  const response = await call(ProduceApi, 7, { acks: 1, timeoutMs: 1000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: partition, records: buildBatch({ batchNumber, recordCount: 2, valueBytes: 10 }) }] }] });
  expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
}

function fetch(sessionId: number, sessionEpoch: number, partitions: { partition: number; fetchOffset: bigint }[], forgotten: number[] = []) {
  return call(FetchApi, 12, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch, rackId: "",
    topics: partitions.length === 0 ? [] : [{ topic, partitions: partitions.map(({ partition, fetchOffset }) => ({ partition, fetchOffset, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
    forgottenTopicsData: forgotten.length === 0 ? [] : [{ topic, partitions: forgotten }],
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const answeredPartitions = (response: any): number[] => response.responses.flatMap((entry: any) => entry.partitions.map((partition: any) => partition.partitionIndex)).sort((a: number, b: number) => a - b);

test("a session answers in full once, then only partitions with something new", async () => {
  await produce(3, 1);
  await produce(7, 2);
  const all = Array.from({ length: partitionCount }, (_, partition) => ({ partition, fetchOffset: 0n }));
  const full = await fetch(0, 0, all);
  expect(full.errorCode).toBe(ErrorCode.NONE);
  expect(full.sessionId).not.toBe(0);
  expect(answeredPartitions(full)).toEqual(all.map((entry) => entry.partition));
  const sessionId = full.sessionId;

  // The consumer moves past what it got on 3 and 7 and names only those two; nothing is new.
  const quiet = await fetch(sessionId, 1, [{ partition: 3, fetchOffset: 2n }, { partition: 7, fetchOffset: 2n }]);
  expect(quiet).toMatchObject({ errorCode: ErrorCode.NONE, sessionId });
  expect(answeredPartitions(quiet)).toEqual([]);

  // One append elsewhere: only that partition comes back, with its records.
  await produce(12, 3);
  const changed = await fetch(sessionId, 2, []);
  expect(answeredPartitions(changed)).toEqual([12]);
  expect(changed.responses[0].partitions[0].records.length).toBeGreaterThan(0);
  expect(changed.responses[0].partitions[0].highWatermark).toBe(2n);

  // Forget 12, then append to it again: it is no longer answered; 3 still is.
  await fetch(sessionId, 3, [], [12]);
  await produce(12, 4);
  await produce(3, 5);
  const afterForget = await fetch(sessionId, 4, []);
  expect(answeredPartitions(afterForget)).toEqual([3]);

  // A repeated epoch and an unknown id are refused as Kafka does; epoch -1 closes the session.
  expect((await fetch(sessionId, 4, [])).errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
  expect((await fetch(sessionId + 1, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  const closed = await fetch(sessionId, -1, [{ partition: 3, fetchOffset: 0n }]);
  expect(closed).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: 0 });
  expect((await fetch(sessionId, 5, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
});

test("sessionless requests (epoch -1, id 0) are answered in full with session id 0", async () => {
  const response = await fetch(0, -1, [{ partition: 0, fetchOffset: 0n }, { partition: 1, fetchOffset: 0n }]);
  expect(response).toMatchObject({ errorCode: ErrorCode.NONE, sessionId: 0 });
  expect(answeredPartitions(response)).toEqual([0, 1]);
});
