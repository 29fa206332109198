// Small Kafka operations over the shared client's KafkaConnection (src/client/), shared by the
// reliability suites: create a topic, produce batches with acks=all, fetch everything back, and
// run a broker process that is expected to refuse to start (its exit code and stderr).

import { join } from "node:path";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildRecordBatch, decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { connectTo } from "../helpers/connection.ts";
import { repoRoot } from "../helpers/broker.ts";

/** A protocol-level connection of the tests (the shared client's, without its higher layers). */
export type WireConnection = KafkaConnection;

export function openConnection(host: string, port: number): Promise<KafkaConnection> {
  return connectTo(`${host}:${port}`);
}

/** One request at an exact version (the tests pin versions so that fields are as they expect). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function call(connection: KafkaConnection, api: AnyApi, version: number, body: unknown): Promise<any> {
  return connection.request(api, body as never, { version });
}

export const { ProduceApi, FetchApi, CreateTopicsApi, ListOffsetsApi } = generated as unknown as Record<string, AnyApi> & {
  ProduceApi: AnyApi;
  FetchApi: AnyApi;
  CreateTopicsApi: AnyApi;
  ListOffsetsApi: AnyApi;
};

export async function createTopic(connection: KafkaConnection, name: string, partitions: number, configs: Record<string, string> = {}): Promise<number> {
  const response = await call(connection, CreateTopicsApi, 4, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })) }],
    timeoutMs: 5000,
  });
  return response.topics[0].errorCode;
}

/** The value of record `index` of batch `batch` (recognisable when fetched back). */
export function recordValue(topic: string, partition: number, batch: number, index: number, valueBytes = 100): string {
  return `${topic}/${partition}/${batch}/${index}/`.padEnd(valueBytes, "x");
}

export function workloadRecords(topic: string, partition: number, batch: number, recordsPerBatch: number, valueBytes = 100) {
  return Array.from({ length: recordsPerBatch }, (_, index) => ({ value: new TextEncoder().encode(recordValue(topic, partition, batch, index, valueBytes)) }));
}

/** Produce one batch per call with acks=all; returns the partition's error code and base offset. */
export async function produce(connection: KafkaConnection, topic: string, partition: number, records: Uint8Array): Promise<{ errorCode: number; baseOffset: bigint; errorMessage: string | null }> {
  const response = await call(connection, ProduceApi, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  const answer = response.responses[0].partitionResponses[0];
  return { errorCode: answer.errorCode, baseOffset: answer.baseOffset, errorMessage: answer.errorMessage ?? null };
}

/** Produce `batches` batches of `recordsPerBatch` records to a partition, each acknowledged (acks=all). */
export async function produceWorkload(connection: KafkaConnection, topic: string, partition: number, batches: number, recordsPerBatch: number, valueBytes = 100): Promise<void> {
  for (let batch = 0; batch < batches; batch++) {
    const result = await produce(connection, topic, partition, buildRecordBatch({ records: workloadRecords(topic, partition, batch, recordsPerBatch, valueBytes) }));
    if (result.errorCode !== ErrorCode.NONE) throw new Error(`produce to ${topic}-${partition} batch ${batch}: error ${result.errorCode} ${result.errorMessage}`);
  }
}

export interface FetchAnswer {
  errorCode: number;
  highWatermark: bigint;
  logStartOffset: bigint;
  records: { offset: bigint; value: string }[];
}

/** One Fetch (v11) of one partition from `offset`. */
export async function fetchOnce(connection: KafkaConnection, topic: string, partition: number, offset: bigint, maxBytes = 1 << 20): Promise<FetchAnswer> {
  const response = await call(connection, FetchApi, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: maxBytes, logStartOffset: -1n, currentLeaderEpoch: -1 }] }],
    forgottenTopicsData: [], rackId: "",
  });
  const answer = response.responses[0].partitions[0];
  const records: { offset: bigint; value: string }[] = [];
  for (const batch of splitBatches(answer.records)) {
    for (const record of decodeRecords(batch)) records.push({ offset: record.offset, value: new TextDecoder().decode(record.value ?? new Uint8Array()) });
  }
  return { errorCode: answer.errorCode, highWatermark: answer.highWatermark, logStartOffset: answer.logStartOffset, records };
}

/**
 * Every record of a partition from `from`, fetch after fetch; a fetch that answers an error at some
 * offset is recorded and (when `skipTo` says where) skipped, as an operator or consumer would seek.
 */
export async function fetchAll(
  connection: KafkaConnection,
  topic: string,
  partition: number,
  from = 0n,
  skipTo?: (offset: bigint) => bigint | null,
): Promise<{ records: { offset: bigint; value: string }[]; errors: { offset: bigint; errorCode: number }[]; highWatermark: bigint }> {
  const records: { offset: bigint; value: string }[] = [];
  const errors: { offset: bigint; errorCode: number }[] = [];
  let offset = from;
  let highWatermark = -1n;
  for (let round = 0; round < 100_000; round++) {
    const answer = await fetchOnce(connection, topic, partition, offset);
    highWatermark = answer.highWatermark;
    if (answer.errorCode !== ErrorCode.NONE) {
      errors.push({ offset, errorCode: answer.errorCode });
      const next = skipTo?.(offset) ?? null;
      if (next === null || next <= offset) break;
      offset = next;
      continue;
    }
    const fresh = answer.records.filter((record) => record.offset >= offset);
    if (fresh.length === 0) break;
    records.push(...fresh);
    offset = fresh.at(-1)!.offset + 1n;
    if (offset >= answer.highWatermark) break;
  }
  return { records, errors, highWatermark };
}

export interface RefusedStart {
  exitCode: number;
  stderr: string;
  stdout: string;
}

/** Run `bun src/main.ts args` to its exit (bounded); for starts that must refuse. */
export async function runBrokerToExit(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<RefusedStart> {
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), ...args], {
    cwd: repoRoot,
    env: { ...process.env, RUNNEL_LOG_LEVEL: "warn", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stderr, stdout };
}
