// Shutdown with HTTP clients waiting: SIGTERM ends long polls with their (empty) answer and live
// streams cleanly, consumer instances leave their groups, and the node exits 0.

import { expect, test } from "bun:test";
import { startBroker } from "../helpers/broker.ts";
import { clusterIdOf, eventually } from "./helpers.ts";

test("SIGTERM answers parked long polls, ends live streams, exits 0", async () => {
  const broker = await startBroker();
  try {
    const base = broker.httpUrl;
    const topics = `${base}/v3/clusters/${await clusterIdOf(base)}/topics`;
    expect((await fetch(topics, { method: "POST", headers: { "content-type": "application/json" }, body: '{"topic_name":"quiet","partitions_count":1}' })).status).toBe(201);
    expect((await fetch(`${base}/consumers/leavers`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"name":"w"}' })).status).toBe(200);
    const longPoll = fetch(`${topics}/quiet/partitions/0/records?from=latest&timeout_ms=25000`);
    const stream = await fetch(`${topics}/quiet/stream`, { headers: { accept: "application/x-ndjson" } });
    const streamText = stream.text();
    await eventually(async () => /runnel_http_requests_in_flight 2/.test(await (await fetch(`${base}/metrics`)).text()), 5000, "the long poll to park");
    const stopped = broker.shutdown();
    const answer = await longPoll;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { records: unknown[] }).records).toEqual([]);
    await streamText;
    expect(await stopped).toBe(0);
  } finally {
    await broker.stop();
  }
}, 30000);
