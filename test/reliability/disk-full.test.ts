// Item 9 of issue 8, against a broker process whose data directory is a small tmpfs (root only:
// mounting needs CAP_SYS_ADMIN). Until the disk is really full, writes go on: space is reserved in
// steps that grow to 16 MiB, and near the end of the disk a step that does not fit is retried
// smaller (before, a refused 16 MiB step refused the write with MiBs free). When it is full, every
// produce is answered KAFKA_STORAGE_ERROR, the failure is logged once (not per request), data stays
// intact, and once space is freed the same partition takes writes again (logged once too).

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { native } from "../../src/native/index.ts";
import { Broker } from "../helpers/broker.ts";
import { createTopic, fetchAll, produce, recordValue, workloadRecords, call, openConnection, type WireConnection } from "./kafka-ops.ts";

const mountPoint: string | null = (() => {
  const directory = mkdtempSync(join(tmpdir(), "runnel-disk-full-"));
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", directory], { stderr: "pipe" });
  if (mounted.exitCode === 0) return directory;
  rmSync(directory, { recursive: true, force: true });
  console.warn("disk-full broker test skipped: cannot mount a tmpfs (needs root)");
  return null;
})();

afterAll(() => {
  if (mountPoint === null) return;
  Bun.spawnSync(["umount", "-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

const freeBytes = (path: string) => {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
};

const recordsPerBatch = 8;
const valueBytes = 8 * 1024; // ~64 KiB per batch

// Reservations (and their fallback) exist only where segments are mapped: the native helper.
test.skipIf(mountPoint === null || !native.canMap)("a full disk: writes go on until it is really full, one ERROR line, intact data, writes resume once space is freed", async () => {
  const filler = join(mountPoint!, "filler");
  writeFileSync(filler, new Uint8Array(4 * 1024 * 1024));
  const dataDir = join(mountPoint!, "data");
  const broker = new Broker({ dataDir, set: { "offsets.topic.num.partitions": 1 }, env: { RUNNEL_LOG_LEVEL: "info" } });
  await broker.start();
  let connection: WireConnection | null = null;
  try {
    connection = await openConnection(broker.host, broker.port);
    expect(await createTopic(connection, "full", 1)).toBe(ErrorCode.NONE);
    const batch = (number: number) => buildRecordBatch({ records: workloadRecords("full", 0, number, recordsPerBatch, valueBytes) });
    let acknowledged = 0;
    let failure: { errorCode: number; errorMessage: string | null } | null = null;
    for (; acknowledged < 1000; acknowledged++) {
      const result = await produce(connection, "full", 0, batch(acknowledged));
      if (result.errorCode !== ErrorCode.NONE) {
        failure = result;
        break;
      }
    }
    expect(failure?.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    // Refused only when less than about one batch is left (not a whole reservation step).
    expect(freeBytes(mountPoint!)).toBeLessThan(2 * recordsPerBatch * valueBytes + 64 * 1024);
    expect(acknowledged).toBeGreaterThan(200);
    for (let attempt = 0; attempt < 20; attempt++) {
      expect((await produce(connection, "full", 0, batch(acknowledged))).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    }

    // Space comes back: the same partition takes writes again.
    unlinkSync(filler);
    for (let extra = 0; extra < 5; extra++, acknowledged++) {
      expect((await produce(connection, "full", 0, batch(acknowledged))).errorCode).toBe(ErrorCode.NONE);
    }
    const served = await fetchAll(connection, "full", 0);
    expect(served.errors).toEqual([]);
    expect(served.records).toHaveLength(acknowledged * recordsPerBatch);
    expect(served.records.at(-1)!.value).toBe(recordValue("full", 0, acknowledged - 1, recordsPerBatch - 1, valueBytes));
    connection.close();
    connection = null;
    expect(await broker.shutdown()).toBe(0);
    const lines = broker.lastStderr.split("\n");
    // 21 refused produce requests, one ERROR line; one line when writes work again.
    expect(lines.filter((line) => line.includes("ERROR") && line.includes("writing to full-0 failed"))).toHaveLength(1);
    expect(lines.filter((line) => line.includes("writing to full-0 works again"))).toHaveLength(1);
  } finally {
    connection?.close();
    await broker.stop();
  }
}, 120_000);
