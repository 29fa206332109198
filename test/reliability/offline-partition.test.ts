// A partition whose log cannot be opened at all goes offline alone: every request for it answers
// KAFKA_STORAGE_ERROR, every other partition is served, and nothing in its directory is touched, so
// that once the cause is fixed the next start serves it again. (Before, any such error stopped the
// whole node from starting.) The cause here: a directory where a segment file should be.

import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { Broker } from "../helpers/broker.ts";
import { createTopic, fetchAll, fetchOnce, produce, produceWorkload, workloadRecords, call, openConnection, type WireConnection } from "./kafka-ops.ts";

const { ListOffsetsApi } = generated as unknown as Record<string, AnyApi>;
const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

test("an unopenable partition is offline (KAFKA_STORAGE_ERROR), the others serve, and it comes back once fixed", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-offline-"));
  directories.push(dataDir);
  const broker = new Broker({ dataDir });
  await broker.start();
  let connection = await openConnection(broker.host, broker.port);
  try {
    expect(await createTopic(connection, "split", 2)).toBe(ErrorCode.NONE);
    for (const partition of [0, 1]) await produceWorkload(connection, "split", partition, 10, 3);
    connection.close();
    expect(await broker.shutdown()).toBe(0);
    const before = readdirSync(join(dataDir, "split-0")).sort();
    const bogus = join(dataDir, "split-0", "00000000000000099999.log");
    mkdirSync(bogus);

    await broker.start();
    connection = await openConnection(broker.host, broker.port);
    expect((await fetchAll(connection, "split", 1)).records).toHaveLength(30);
    expect((await fetchOnce(connection, "split", 0, 0n)).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    const produced = await produce(connection, "split", 0, buildRecordBatch({ records: workloadRecords("split", 0, 99, 1) }));
    expect(produced.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    const offsets = await call(connection, ListOffsetsApi!, 2, {
      replicaId: -1, isolationLevel: 0, topics: [{ name: "split", partitions: [{ partitionIndex: 0, timestamp: -1n }, { partitionIndex: 1, timestamp: -1n }] }],
    });
    expect(offsets.topics[0].partitions.map((partition: { errorCode: number }) => partition.errorCode)).toEqual([ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NONE]);
    connection.close();
    expect(await broker.shutdown()).toBe(0);
    expect(broker.lastStderr).toMatch(new RegExp(`partition failed to recover; it stays offline .* directory=${join(dataDir, "split-0")}`));
    // Nothing in its directory was changed.
    expect(readdirSync(join(dataDir, "split-0")).filter((name) => name !== "00000000000000099999.log").sort()).toEqual(before);

    rmSync(bogus, { recursive: true });
    await broker.start();
    connection = await openConnection(broker.host, broker.port);
    expect((await fetchAll(connection, "split", 0)).records).toHaveLength(30);
  } finally {
    connection.close();
    await broker.stop();
  }
}, 60_000);
