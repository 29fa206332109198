// Read throughput of a log from the page cache: the whole log is read front to back with
// `read(offset, 1 MiB)` (what a Fetch does), after one warm-up pass. Two figures:
//   - zero-copy: the views `read` hands out, as a Fetch writes them to a socket (natively these
//     are views of the mapped segment; the fallback preads into fresh buffers, so it includes a
//     copy);
//   - copied out: every view also copied once into a reused 1 MiB buffer, a stand-in for the
//     socket write that has to touch the bytes.
// Target (issue 2): >= 1 GB/s for a 1 GiB log (RUNNEL_BENCH_FULL=1; default 256 MiB).

import { openPartitionLog } from "../src/storage/index.ts";
import { testTopicConfig } from "../src/testing/log-harness.ts";
import { setLogLevel } from "../src/util/logger.ts";
import { appendToLog } from "./storage-append.ts";
import { batchPool, benchBytes, header, median, megabytes, removeScratch, report, scratchDirectory, type Timing } from "./storage-common.ts";

setLogLevel("warn");

const fetchBytes = 1024 * 1024;

type PartitionLogLike = Awaited<ReturnType<typeof openPartitionLog>>;

function readWholeLog(log: PartitionLogLike, copy: boolean): Timing {
  const sink = new Uint8Array(fetchBytes * 2);
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  let bytes = 0;
  let checksum = 0;
  const started = performance.now();
  while (offset < end) {
    const result = log.read(offset, fetchBytes, end);
    try {
      let last: Uint8Array | undefined;
      for (const chunk of result.chunks) {
        if (copy) sink.set(chunk.subarray(0, Math.min(chunk.length, sink.length)));
        checksum ^= chunk[chunk.length - 1]!;
        last = chunk;
        bytes += chunk.length;
      }
      if (last === undefined) throw new Error(`read(${offset}) returned nothing below the log end offset ${end}`);
      // The next offset follows the last batch of the last chunk: walk its batch headers.
      let at = 0;
      let nextOffset = offset;
      const view = new DataView(last.buffer, last.byteOffset, last.byteLength);
      while (at < last.length) {
        nextOffset = view.getBigInt64(at) + BigInt(view.getInt32(at + 23)) + 1n;
        at += view.getInt32(at + 8) + 12;
      }
      offset = nextOffset;
    } finally {
      result.release();
    }
  }
  if (checksum === -1) console.log("unreachable"); // keep the reads observable
  return { bytes, seconds: (performance.now() - started) / 1000 };
}

if (import.meta.main) {
  const totalBytes = benchBytes();
  const rounds = Number(process.env.RUNNEL_BENCH_ROUNDS ?? 3);
  header("storage-read: whole log from the page cache in 1 MiB reads", totalBytes);
  const directory = scratchDirectory("read");
  try {
    await appendToLog(directory, batchPool(), totalBytes);
    const log = await openPartitionLog({ dataDir: directory, topic: "bench", partition: 0, config: testTopicConfig() });
    readWholeLog(log, true); // warm-up: page cache and mappings
    const zeroCopy: number[] = [];
    const copied: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const plain = readWholeLog(log, false);
      zeroCopy.push(plain.bytes / plain.seconds);
      const withCopy = readWholeLog(log, true);
      copied.push(withCopy.bytes / withCopy.seconds);
      console.log(`round ${round + 1}: zero-copy ${megabytes(zeroCopy.at(-1)!)}, copied out ${megabytes(copied.at(-1)!)}`);
    }
    await log.close();
    report("storage-read", {
      zeroCopyMBps: median(zeroCopy) / 1e6,
      copiedOutMBps: median(copied) / 1e6,
      targetMBps: 1000,
      logMiB: totalBytes / 1024 / 1024,
      rounds,
    });
  } finally {
    removeScratch(directory);
  }
}
