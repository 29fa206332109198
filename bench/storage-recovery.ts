// Recovery time after kill -9: a writer process fills a partition log through the LogManager (the
// broker's path: data directory, checkpoint files) and is killed with SIGKILL; a fresh process then
// opens the data directory (recovery: scan, CRC-check, rebuild indexes, cut the torn tail) and we
// time that open. Target (issue 2): < 2 s for a 1 GiB log (RUNNEL_BENCH_FULL=1; default 256 MiB).
//
// Scenarios:
//   full-scan   one segment (segment.bytes 1 GiB) and no checkpoint: every byte is CRC-checked
//               (the worst case, and Kafka's too: the active segment is always rescanned);
//   checkpoint  128 MiB segments and a recovery checkpoint written before the last 16 MiB: only
//               the segment holding the recovery point and later ones are scanned.
//
// The page cache is warm (kill -9 does not drop it), as on a broker restarted by a supervisor.

import { spawnSync } from "node:child_process";
import { loadBrokerConfig } from "../src/config/index.ts";
import { createLogManager } from "../src/storage/index.ts";
import { testTopicConfig } from "../src/testing/log-harness.ts";
import { spawnLines } from "../src/testing/processes.ts";
import { setLogLevel } from "../src/util/logger.ts";
import { batchPool, benchBytes, header, mebibyte, removeScratch, report, scratchDirectory } from "./storage-common.ts";

setLogLevel("warn");

const topic = "bench";

function managerFor(dataDir: string, segmentBytes: number) {
  const config = testTopicConfig({ "segment.bytes": segmentBytes });
  return {
    config,
    manager: createLogManager({ dataDir, brokerConfig: loadBrokerConfig().values, topicConfigFor: () => config, backgroundTasks: false }),
  };
}

async function writer(dataDir: string, totalBytes: number, segmentBytes: number, checkpointBeforeLastBytes: number): Promise<void> {
  const { manager, config } = managerFor(dataDir, segmentBytes);
  await manager.open();
  const log = await manager.create(topic, 0, config);
  const pool = batchPool();
  let written = 0;
  let index = 0;
  let checkpointed = checkpointBeforeLastBytes <= 0;
  while (written < totalBytes) {
    if (!checkpointed && written >= totalBytes - checkpointBeforeLastBytes) {
      await log.flush();
      await manager.writeCheckpoints();
      checkpointed = true;
    }
    const batch = pool[index++ % pool.length]!;
    await log.append(batch);
    written += batch.length;
  }
  process.stdout.write(`written ${written} ${log.logEndOffset}\n`);
  setInterval(() => {}, 1 << 30); // wait for the SIGKILL
}

async function recover(dataDir: string, segmentBytes: number): Promise<void> {
  const { manager } = managerFor(dataDir, segmentBytes);
  const started = performance.now();
  await manager.open();
  await manager.openFound();
  const milliseconds = performance.now() - started;
  const log = manager.get(topic, 0);
  process.stdout.write(`${JSON.stringify({ milliseconds, logEndOffset: String(log?.logEndOffset ?? -1n), sizeBytes: log?.sizeBytes ?? 0 })}\n`);
  await manager.close();
}

async function scenario(name: string, totalBytes: number, segmentBytes: number, checkpointBeforeLastBytes: number) {
  const dataDir = scratchDirectory("recovery");
  try {
    const child = spawnLines([process.execPath, import.meta.path, "writer", dataDir, String(totalBytes), String(segmentBytes), String(checkpointBeforeLastBytes)]);
    const line = await child.waitForLine((text) => text.startsWith("written "));
    await child.kill9();
    const [, bytes, endOffset] = line.split(" ");
    const recovered = spawnSync(process.execPath, [import.meta.path, "recover", dataDir, String(segmentBytes)], { encoding: "utf8" });
    if (recovered.status !== 0) throw new Error(`recovery process failed: ${recovered.stderr}`);
    const result = JSON.parse(recovered.stdout.trim().split("\n").at(-1)!) as { milliseconds: number; logEndOffset: string; sizeBytes: number };
    if (result.logEndOffset !== endOffset) throw new Error(`recovered log end offset ${result.logEndOffset}, the writer had ${endOffset}`);
    report(`storage-recovery ${name}`, {
      recoveryMs: result.milliseconds,
      targetMs: 2000,
      logMiB: Number(bytes) / mebibyte,
      scanGBps: Number(bytes) / (result.milliseconds / 1000) / 1e9,
      segmentMiB: segmentBytes / mebibyte,
    });
  } finally {
    removeScratch(dataDir);
  }
}

if (import.meta.main) {
  const [role, ...args] = process.argv.slice(2);
  if (role === "writer") await writer(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
  else if (role === "recover") await recover(args[0]!, Number(args[1]));
  else {
    const totalBytes = benchBytes();
    header("storage-recovery: open after kill -9 (warm page cache)", totalBytes);
    await scenario("full-scan", totalBytes, 1024 * mebibyte, 0);
    await scenario("checkpoint", totalBytes, 128 * mebibyte, 16 * mebibyte);
  }
}
