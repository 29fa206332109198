// Item 1 of issue 8: the data directory lock. A second node started on a directory a running node
// uses must refuse before it touches anything, with one line naming the directory and the holder's
// pid; before the lock it recovered (truncated) the live node's active segments, and with other
// ports both served and wrote the same files. A node killed with kill -9 must not leave the
// directory locked. Checked with the flock of the system C library (also under RUNNEL_NATIVE=0)
// and with the pid-file fallback (RUNNEL_LIBC=0).

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { Broker } from "../helpers/broker.ts";
import { createTopic, fetchAll, produceWorkload, recordValue, runBrokerToExit, call, openConnection, type WireConnection } from "./kafka-ops.ts";

const directories: string[] = [];
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const modes: { name: string; env: Record<string, string> }[] = [
  { name: "flock (native helper)", env: {} },
  { name: "flock under RUNNEL_NATIVE=0", env: { RUNNEL_NATIVE: "0" } },
  { name: "pid-file fallback (RUNNEL_LIBC=0)", env: { RUNNEL_LIBC: "0" } },
];

describe("the data directory lock", () => {
  for (const mode of modes) {
    test(`${mode.name}: a second node refuses with one line naming the directory and the pid; kill -9 releases the lock`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "runnel-lock-"));
      directories.push(dataDir);
      const first = new Broker({ dataDir, env: mode.env, set: { "log.flush.interval.messages": 1 } });
      await first.start();
      let connection: WireConnection | null = null;
      try {
        connection = await openConnection(first.host, first.port);
        expect(await createTopic(connection, "locked", 1)).toBe(ErrorCode.NONE);
        await produceWorkload(connection, "locked", 0, 20, 5);

        // The second node: other ports, the same directory, info-level logging so that any other
        // output would show. It must print exactly one line and exit non-zero.
        const second = await runBrokerToExit(["--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0"], { ...mode.env, RUNNEL_LOG_LEVEL: "info" });
        expect(second.exitCode).not.toBe(0);
        const lines = second.stderr.trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`data directory ${dataDir} is in use by another Runnel process (pid ${first.pid})`);
        expect(second.stdout).not.toContain("listening");
        expect(readFileSync(join(dataDir, ".lock"), "utf8").trim()).toBe(String(first.pid));

        // The live node lost nothing: every acknowledged record is still served.
        const served = await fetchAll(connection, "locked", 0);
        expect(served.errors).toEqual([]);
        expect(served.records.map((record) => record.value)).toEqual(
          Array.from({ length: 100 }, (_, index) => recordValue("locked", 0, Math.floor(index / 5), index % 5)),
        );
        connection.close();
        connection = null;

        // kill -9: the kernel drops the flock (the fallback finds a dead pid); the restart works.
        await first.crash();
        connection = await openConnection(first.host, first.port);
        expect((await fetchAll(connection, "locked", 0)).records).toHaveLength(100);
      } finally {
        connection?.close();
        await first.stop();
      }
    }, 60_000);
  }
});
