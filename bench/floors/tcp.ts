// Physical floor 1: raw TCP over loopback between two Bun processes — bulk throughput, and
// the round trip of one small message with one in flight. Anything speaking TCP from Bun on
// this machine is bounded by these.

import { join } from "node:path";
import { LatencyHistogram } from "../lib/histogram.ts";
import type { LatencySummary } from "../lib/histogram.ts";
import { spawnChild } from "../lib/process.ts";
import { ByteCounter, TcpConnection } from "../lib/tcp.ts";
import { nowMs } from "../lib/open-loop.ts";

const peerPath = join(import.meta.dir, "tcp-peer.ts");

export async function startTcpPeer(mode: "sink" | "echo" | "frame-ack") {
  const child = await spawnChild({ cmd: [process.execPath, peerPath, mode], ready: /^listening (\d+)/, readyTimeoutMs: 10_000 });
  return { child, port: Number(child.match[1]) };
}

export interface TcpThroughput {
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
}

/** Sends `totalBytes` in `chunkBytes` writes and waits for the sink's receipt. */
export async function tcpThroughput(totalBytes: number, chunkBytes = 256 * 1024): Promise<TcpThroughput> {
  const { child, port } = await startTcpPeer("sink");
  try {
    const counter = new ByteCounter();
    const connection = await TcpConnection.open("127.0.0.1", port, (chunk) => counter.add(chunk.length));
    const chunk = new Uint8Array(chunkBytes).fill(0x5a);
    const header = new Uint8Array(8);
    new DataView(header.buffer).setBigUint64(0, BigInt(totalBytes));
    const started = nowMs();
    connection.write(header);
    for (let sent = 0; sent < totalBytes; sent += chunkBytes) {
      connection.write(chunk.subarray(0, Math.min(chunkBytes, totalBytes - sent)));
      if (connection.queuedBytes() > 4 * chunkBytes) await connection.waitQueueBelow(chunkBytes);
    }
    await counter.until(1);
    const seconds = (nowMs() - started) / 1000;
    connection.close();
    return { bytes: totalBytes, seconds, bytesPerSecond: totalBytes / seconds };
  } finally {
    await child.stop();
  }
}

/** One message of `messageBytes` in flight at a time, echoed back; for `durationMs`. */
export async function tcpRoundTrip(durationMs: number, messageBytes = 64): Promise<LatencySummary> {
  const { child, port } = await startTcpPeer("echo");
  try {
    const counter = new ByteCounter();
    const connection = await TcpConnection.open("127.0.0.1", port, (chunk) => counter.add(chunk.length));
    const message = new Uint8Array(messageBytes).fill(1);
    const histogram = new LatencyHistogram();
    const deadline = nowMs() + durationMs;
    const warmupEnd = nowMs() + Math.min(200, durationMs / 5);
    let expected = 0;
    while (nowMs() < deadline) {
      const sentAt = nowMs();
      connection.write(message);
      expected += messageBytes;
      await counter.until(expected);
      const now = nowMs();
      if (now >= warmupEnd) histogram.recordMs(now - sentAt);
    }
    connection.close();
    return histogram.summary();
  } finally {
    await child.stop();
  }
}
