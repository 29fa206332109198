// Flow control of live streams: an HTTP/2 client opens a stream of a topic from the beginning and
// then stops reading, while records are produced at full speed. The broker reads from the log only
// as fast as the client takes bytes, so what it queued for the stream stays bounded
// (http.stream.buffer.bytes plus Bun's HTTP/2 window) and its resident memory stays flat however
// much is produced.
//
// The suite runs it for HTTP_FLOW_SOAK_SECONDS (default 15 s); the 60 s soak is the same
// test with HTTP_FLOW_SOAK_SECONDS=60 (figures in the commit that added it).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { clusterIdOf, h2Session } from "./helpers.ts";

const seconds = Number(process.env.HTTP_FLOW_SOAK_SECONDS ?? 15);
let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ set: { "http.stream.buffer.bytes": 262144, "log.segment.bytes": 64 * 1024 * 1024 } });
});
afterAll(async () => {
  await broker?.stop();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  if (!match) throw new Error(`metric ${name} missing`);
  return Number(match[1]);
}

test(`a client that stops reading keeps broker memory flat during ${seconds} s of production`, async () => {
  const base = broker.httpUrl;
  const topics = `${base}/v3/clusters/${await clusterIdOf(base)}/topics`;
  expect((await fetch(topics, { method: "POST", headers: { "content-type": "application/json" }, body: '{"topic_name":"firehose","partitions_count":1}' })).status).toBe(201);

  const session = h2Session(base);
  const path = new URL(`${topics}/firehose/stream?from=earliest`).pathname + "?from=earliest";
  const stalled = session.request({ ":path": path, accept: "application/x-ndjson" });
  let stalledBytes = 0;
  stalled.on("data", (chunk: Buffer) => (stalledBytes += chunk.length));
  stalled.pause(); // never reads again: its HTTP/2 window fills and stays full

  const value = JSON.stringify({ type: "STRING", data: "x".repeat(1000) });
  const chunk = Array.from({ length: 200 }, () => `{"value":${value}}`).join("\n") + "\n";
  const deadline = Date.now() + seconds * 1000;
  const rss: number[] = [];
  let produced = 0;
  try {
    while (Date.now() < deadline) {
      const response = await fetch(`${topics}/firehose/records?acks=1`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: chunk });
      const answers = await response.text();
      expect(answers.startsWith('{"error_code":200')).toBe(true);
      produced += chunk.length;
      if (produced % (chunk.length * 50) === 0) rss.push(await metric("process_resident_memory_bytes"));
    }
    const queued = await metric("runnel_http_stream_bytes_sent");
    const settled = rss.slice(Math.floor(rss.length / 4));
    const growth = Math.max(...settled) - Math.min(...settled);
    console.log(`flow: produced ${(produced / 1e6).toFixed(0)} MB in ${seconds} s; stream queued ${(queued / 1e6).toFixed(2)} MB in all; stalled client took ${(stalledBytes / 1e3).toFixed(0)} kB; RSS ${(Math.min(...settled) / 1e6).toFixed(0)}-${(Math.max(...settled) / 1e6).toFixed(0)} MB after the first quarter`);
    expect(produced).toBeGreaterThan(20e6);
    // What the broker read from the log for the stalled stream: its buffer and the HTTP/2 window,
    // not what was produced (an unbounded stream would have queued all of it).
    expect(queued).toBeLessThan(4e6);
    // Resident memory moves with garbage collection, not with production.
    expect(growth).toBeLessThan(Math.min(192e6, produced / 2));
  } finally {
    stalled.close();
    session.close();
  }
}, (seconds + 60) * 1000);
