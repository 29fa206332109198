// The request quota (request_percentage, KIP-124): a user with a small share of the broker's time
// sending cheap Metadata requests back to back over one connection gets throttle_time_ms > 0, its
// connection is muted for that time, and the broker time charged to it stays within its share of
// the elapsed window; another user without the quota, doing the same at the same time, is never
// throttled. ApiVersions is exempt.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { AlterClientQuotasApi, ApiVersionsApi, MetadataApi } from "../../src/protocol/generated/index.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

let broker: Broker;
const windowSamples = 3;
const sampleSeconds = 1;
/** carol's share: 2% of one thread, 20 ms of broker time per second. */
const carolPercentage = 2;

const users = ["admin", "carol", "bob"];
const connectAs = (user: string) => connectTo(broker.listeners.get("SASL_PLAINTEXT")!, `${user}-app`, {
  security: { sasl: { mechanism: "SCRAM-SHA-256", username: user, password: `${user}-secret` } },
});

beforeAll(async () => {
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,HTTP://127.0.0.1:0",
      "bootstrap.scram.users": users.map((user) => `SCRAM-SHA-256=[name=${user},password=${user}-secret,iterations=4096]`).join(";"),
      "super.users": users.map((user) => `User:${user}`).join(";"),
      "quota.window.num": windowSamples,
      "quota.window.size.seconds": sampleSeconds,
    },
  });
}, 30000);

afterAll(async () => {
  await broker?.stop();
});

interface LoopResult {
  requests: number;
  throttled: number;
  maxThrottleMs: number;
  /** For throttled answers of ≥ 40 ms: how long the next answer took to come, and the throttle. */
  mutedGaps: { throttleMs: number; gapMs: number }[];
}

/** Metadata requests (no topics: the cheapest) one after another for `durationMs`. */
async function metadataLoop(connection: KafkaConnection, durationMs: number): Promise<LoopResult> {
  const result: LoopResult = { requests: 0, throttled: 0, maxThrottleMs: 0, mutedGaps: [] };
  const started = performance.now();
  let previousThrottleMs = 0;
  let previousAt = started;
  while (performance.now() - started < durationMs) {
    const response = await connection.request(MetadataApi, { topics: [], allowAutoTopicCreation: false });
    const now = performance.now();
    if (previousThrottleMs >= 40) result.mutedGaps.push({ throttleMs: previousThrottleMs, gapMs: now - previousAt });
    result.requests++;
    if (response.throttleTimeMs > 0) result.throttled++;
    result.maxThrottleMs = Math.max(result.maxThrottleMs, response.throttleTimeMs);
    previousThrottleMs = response.throttleTimeMs;
    previousAt = now;
  }
  return result;
}

async function chargedSeconds(entity: string): Promise<number> {
  const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`runnel_quota_request_time_seconds_total{entity="${entity}"}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

test("a user over its request_percentage is throttled and muted; another user is not", async () => {
  const admin = await connectAs("admin");
  const carol = await connectAs("carol");
  const bob = await connectAs("bob");
  try {
    const altered = await admin.request(AlterClientQuotasApi, {
      entries: [{ entity: [{ entityType: "user", entityName: "carol" }], ops: [{ key: "request_percentage", value: carolPercentage, remove: false }] }],
      validateOnly: false,
    });
    expect(altered.entries[0]!.errorCode).toBe(ErrorCode.NONE);
    const loopStarted = performance.now();
    const [throttled, free] = await Promise.all([metadataLoop(carol, 4000), metadataLoop(bob, 4000)]);
    const elapsedSeconds = (performance.now() - loopStarted) / 1000;
    const charged = await chargedSeconds("user=carol");
    console.log(`request_percentage=${carolPercentage}: carol ${throttled.requests} requests (${throttled.throttled} throttled, max ${throttled.maxThrottleMs} ms, ${(charged * 1000).toFixed(1)} ms charged in ${elapsedSeconds.toFixed(1)} s), bob ${free.requests} requests (max throttle ${free.maxThrottleMs} ms)`);

    expect(throttled.maxThrottleMs).toBeGreaterThan(0);
    expect(throttled.throttled).toBeGreaterThan(0);
    // Muted: the answer after a throttled one cannot come before most of the throttle has passed
    // (the mute starts when the broker answers, a little before the client sees that answer).
    expect(throttled.mutedGaps.length).toBeGreaterThan(0);
    for (const { throttleMs, gapMs } of throttled.mutedGaps) expect(gapMs).toBeGreaterThan(throttleMs * 0.5);
    // Bounded: the broker time charged to carol is within her share of the elapsed time plus the
    // window Kafka's rate measures a burst over (its minimum), with a tolerant margin.
    expect(charged).toBeGreaterThan(0);
    expect(charged).toBeLessThan((carolPercentage / 100) * (elapsedSeconds + windowSamples * sampleSeconds) * 1.5);
    // bob has no quota: never throttled, never measured, and he got through more requests.
    expect(free.maxThrottleMs).toBe(0);
    expect(await chargedSeconds("user=bob")).toBe(0);
    expect(free.requests).toBeGreaterThan(throttled.requests);

    // ApiVersions is exempt: answered at once, without a throttle, even while carol is over.
    const versions = await carol.request(ApiVersionsApi, { clientSoftwareName: "runnel-test", clientSoftwareVersion: "1" });
    expect(versions.errorCode).toBe(ErrorCode.NONE);
    expect(versions.throttleTimeMs).toBe(0);
  } finally {
    admin.close();
    carol.close();
    bob.close();
  }
}, 30000);
