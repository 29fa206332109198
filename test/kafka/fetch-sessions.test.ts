// The fetch session cache (KIP-227) on its own: epochs, errors, what an incremental answer
// includes, forgotten partitions, eviction.
import { describe, expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { FetchSessionCache, FINAL_EPOCH, INITIAL_EPOCH, type FetchPartitionRequest, type PartitionAnswer } from "../../src/kafka/fetch-sessions.ts";

function part(topic: string, partition: number, fetchOffset = 0n): FetchPartitionRequest {
  return { topic, partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 };
}

const idle: PartitionAnswer = { errorCode: ErrorCode.NONE, highWatermark: 10n, lastStableOffset: 10n, logStartOffset: 0n, recordsBytes: 0 };

function setup(slotsMax = 10) {
  let now = 1_000;
  let nextRandom = 0.5;
  const cache = new FetchSessionCache({ slotsMax, nowMs: () => now, random: () => (nextRandom = (nextRandom + 0.137) % 1) });
  return { cache, advance: (ms: number) => (now += ms) };
}

describe("fetch sessions", () => {
  test("sessionless (id 0, epoch -1): every partition, session id 0, nothing cached", () => {
    const { cache } = setup();
    const context = cache.resolve({ sessionId: 0, sessionEpoch: FINAL_EPOCH, partitions: [part("a", 0), part("a", 1)], forgotten: [], fromFollower: false });
    expect(context).toMatchObject({ sessionId: 0, errorCode: ErrorCode.NONE, incremental: false });
    expect(context.partitions.length).toBe(2);
    expect(context.include(context.partitions[0]!, idle)).toBe(true);
    expect(cache.size).toBe(0);
  });

  test("initial then incremental: only partitions with something new are answered, epochs checked", () => {
    const { cache } = setup();
    const first = cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0), part("a", 1), part("b", 0)], forgotten: [], fromFollower: false });
    expect(first.sessionId).not.toBe(0);
    expect(first.incremental).toBe(false);
    for (const partition of first.partitions) expect(first.include(partition, idle)).toBe(true);

    const second = cache.resolve({ sessionId: first.sessionId, sessionEpoch: 1, partitions: [], forgotten: [], fromFollower: false });
    expect(second.incremental).toBe(true);
    expect(second.partitions.map((partition) => `${partition.topic}-${partition.partition}`)).toEqual(["a-0", "a-1", "b-0"]);
    // Nothing changed: nothing is included. Records, a moved high watermark or an error are.
    expect(second.include(second.partitions[0]!, idle)).toBe(false);
    expect(second.include(second.partitions[1]!, { ...idle, recordsBytes: 100 })).toBe(true);
    expect(second.include(second.partitions[2]!, { ...idle, highWatermark: 11n })).toBe(true);

    const third = cache.resolve({ sessionId: first.sessionId, sessionEpoch: 2, partitions: [part("a", 0, 5n)], forgotten: [{ topic: "b", partition: 0 }], fromFollower: false });
    expect(third.partitions.map((partition) => [partition.topic, partition.partition, partition.fetchOffset])).toEqual([["a", 0, 5n], ["a", 1, 0n]]);
    // b-0's high watermark 11 was remembered as sent; a-0's state was kept across the update.
    expect(third.include(third.partitions[0]!, idle)).toBe(false);
    expect(third.include(third.partitions[1]!, { ...idle, logStartOffset: 3n })).toBe(true);

    expect(cache.resolve({ sessionId: first.sessionId, sessionEpoch: 2, partitions: [], forgotten: [], fromFollower: false }).errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    expect(cache.resolve({ sessionId: first.sessionId + 1, sessionEpoch: 1, partitions: [], forgotten: [], fromFollower: false }).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
  });

  test("epoch -1 with a session id closes the session; epoch 0 with one replaces it", () => {
    const { cache } = setup();
    const first = cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: false });
    const replaced = cache.resolve({ sessionId: first.sessionId, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: false });
    expect(replaced.sessionId).not.toBe(first.sessionId);
    expect(cache.get(first.sessionId)).toBeUndefined();
    const closed = cache.resolve({ sessionId: replaced.sessionId, sessionEpoch: FINAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: false });
    expect(closed.sessionId).toBe(0);
    expect(cache.size).toBe(0);
  });

  test("a full cache evicts only sessions idle for the eviction time, consumers before followers", () => {
    const { cache, advance } = setup(2);
    const follower = cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: true });
    const consumer = cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: false });
    expect(cache.size).toBe(2);
    // Nobody idle long enough: the new fetcher is answered sessionless.
    expect(cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: false }).sessionId).toBe(0);
    advance(120_000);
    const newcomer = cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: false });
    expect(newcomer.sessionId).not.toBe(0);
    expect(cache.get(consumer.sessionId)).toBeUndefined();
    expect(cache.get(follower.sessionId)).toBeDefined();
    // A consumer never takes a follower's slot.
    advance(120_000);
    cache.resolve({ sessionId: newcomer.sessionId, sessionEpoch: FINAL_EPOCH, partitions: [], forgotten: [], fromFollower: false });
    const consumer2 = cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [], forgotten: [], fromFollower: false });
    advance(120_000);
    expect(cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [], forgotten: [], fromFollower: false }).sessionId).not.toBe(0); // evicts the idle consumer session
    expect(cache.get(consumer2.sessionId)).toBeUndefined();
    expect(cache.get(follower.sessionId)).toBeDefined();
  });

  test("slots 0 disables sessions", () => {
    const { cache } = setup(0);
    expect(cache.resolve({ sessionId: 0, sessionEpoch: INITIAL_EPOCH, partitions: [part("a", 0)], forgotten: [], fromFollower: false }).sessionId).toBe(0);
  });
});
