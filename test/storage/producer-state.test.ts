import { describe, expect, test } from "bun:test";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import {
  decodeProducerSnapshot,
  incrementSequence,
  PartitionProducerState,
  ProducerSnapshotError,
} from "../../src/storage/producer-state.ts";
import type { BatchProducerInfo } from "../../src/storage/types.ts";

function batch(fields: Partial<BatchProducerInfo> & { baseSequence: number; recordCount?: number }): BatchProducerInfo {
  const recordCount = fields.recordCount ?? 1;
  return {
    producerId: 1000n,
    producerEpoch: 0,
    lastOffsetDelta: recordCount - 1,
    recordCount,
    baseOffset: -1n,
    maxTimestamp: 1_700_000_000_000n,
    isTransactional: false,
    isControl: false,
    ...fields,
  };
}

/** check() then update() at the next offset, as storage does; returns the check's answer. */
function append(state: PartitionProducerState, info: BatchProducerInfo, log: { end: bigint }) {
  const verdict = state.check(info);
  if (verdict.kind === "append") {
    state.update({ ...info, baseOffset: log.end });
    log.end += BigInt(info.lastOffsetDelta + 1);
  }
  return verdict;
}

function errorCode(run: () => unknown): number | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    throw error;
  }
  return undefined;
}

describe("PartitionProducerState", () => {
  test("non-idempotent batches skip every check", () => {
    const state = new PartitionProducerState();
    const log = { end: 0n };
    for (let index = 0; index < 3; index++) {
      expect(append(state, batch({ producerId: -1n, producerEpoch: -1, baseSequence: -1 }), log).kind).toBe("append");
    }
    expect(state.size).toBe(0);
  });

  test("in-order sequences are appended; a gap or a repeat out of the window is OUT_OF_ORDER", () => {
    const state = new PartitionProducerState();
    const log = { end: 0n };
    expect(append(state, batch({ baseSequence: 0, recordCount: 3 }), log).kind).toBe("append");
    expect(append(state, batch({ baseSequence: 3, recordCount: 2 }), log).kind).toBe("append");
    expect(errorCode(() => state.check(batch({ baseSequence: 6 })))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(errorCode(() => state.check(batch({ baseSequence: 4 })))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(append(state, batch({ baseSequence: 5 }), log).kind).toBe("append");
    expect(log.end).toBe(6n);
  });

  test("a retry of any of the last five batches is a duplicate with the original offsets", () => {
    const state = new PartitionProducerState();
    const log = { end: 100n };
    for (let index = 0; index < 7; index++) append(state, batch({ baseSequence: index * 2, recordCount: 2 }), log);
    // Batches 2..6 (sequences 4..13) are retained; 0 and 1 fell out of the window.
    const retry = state.check(batch({ baseSequence: 4, recordCount: 2 }));
    expect(retry).toEqual({ kind: "duplicate", baseOffset: 104n, lastOffset: 105n });
    expect(state.check(batch({ baseSequence: 12, recordCount: 2 }))).toEqual({
      kind: "duplicate", baseOffset: 112n, lastOffset: 113n,
    });
    expect(errorCode(() => state.check(batch({ baseSequence: 2, recordCount: 2 })))).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    // Same first sequence but a different range is not a duplicate.
    expect(errorCode(() => state.check(batch({ baseSequence: 12, recordCount: 1 })))).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
  });

  test("epochs: older is INVALID_PRODUCER_EPOCH, newer must restart at sequence 0", () => {
    const state = new PartitionProducerState();
    const log = { end: 0n };
    append(state, batch({ producerEpoch: 3, baseSequence: 0, recordCount: 5 }), log);
    expect(errorCode(() => state.check(batch({ producerEpoch: 2, baseSequence: 5 })))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(errorCode(() => state.check(batch({ producerEpoch: 4, baseSequence: 5 })))).toBe(
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    expect(append(state, batch({ producerEpoch: 4, baseSequence: 0 }), log).kind).toBe("append");
    // The old epoch's batches no longer count as duplicates, and the old epoch is fenced.
    expect(errorCode(() => state.check(batch({ producerEpoch: 3, baseSequence: 0, recordCount: 5 })))).toBe(
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
    expect(state.entry(1000n)?.epoch).toBe(4);
  });

  test("an unknown producer may start at any sequence (Kafka 2.5+, KIP-360)", () => {
    const state = new PartitionProducerState();
    const log = { end: 0n };
    expect(append(state, batch({ producerId: 7n, baseSequence: 42 }), log).kind).toBe("append");
    expect(append(state, batch({ producerId: 7n, baseSequence: 43 }), log).kind).toBe("append");
  });

  test("a producer batch without a sequence is INVALID_RECORD", () => {
    const state = new PartitionProducerState();
    expect(errorCode(() => state.check(batch({ baseSequence: -1 })))).toBe(ErrorCode.INVALID_RECORD);
  });

  test("sequences wrap from int32 max to 0", () => {
    expect(incrementSequence(2147483646, 1)).toBe(2147483647);
    expect(incrementSequence(2147483647, 1)).toBe(0);
    expect(incrementSequence(2147483645, 4)).toBe(1);
    const state = new PartitionProducerState();
    const log = { end: 0n };
    append(state, batch({ baseSequence: 2147483645, recordCount: 3 }), log);
    expect(state.entry(1000n)?.batches[0]?.lastSequence).toBe(2147483647);
    expect(append(state, batch({ baseSequence: 0, recordCount: 2 }), log).kind).toBe("append");
    // A batch spanning the wrap: sequences 2147483647, 0, 1.
    const wrapped = new PartitionProducerState();
    append(wrapped, batch({ baseSequence: 2147483647, recordCount: 3 }), { end: 0n });
    expect(wrapped.entry(1000n)?.batches[0]?.lastSequence).toBe(1);
    expect(wrapped.check(batch({ baseSequence: 2 })).kind).toBe("append");
  });

  test("producers are independent", () => {
    const state = new PartitionProducerState();
    const log = { end: 0n };
    append(state, batch({ producerId: 1n, baseSequence: 0 }), log);
    append(state, batch({ producerId: 2n, baseSequence: 0 }), log);
    expect(state.check(batch({ producerId: 1n, baseSequence: 0 }))).toEqual({ kind: "duplicate", baseOffset: 0n, lastOffset: 0n });
    expect(state.check(batch({ producerId: 2n, baseSequence: 0 }))).toEqual({ kind: "duplicate", baseOffset: 1n, lastOffset: 1n });
    expect(state.check(batch({ producerId: 2n, baseSequence: 1 })).kind).toBe("append");
  });

  test("replaying the log rebuilds the same answers (restart in the middle of production)", () => {
    const live = new PartitionProducerState();
    const log = { end: 0n };
    const appended: BatchProducerInfo[] = [];
    for (let index = 0; index < 20; index++) {
      const info = batch({ producerId: BigInt(index % 3), baseSequence: Math.floor(index / 3) * 4, recordCount: 4 });
      const baseOffset = log.end;
      append(live, info, log);
      appended.push({ ...info, baseOffset });
    }
    const recovered = new PartitionProducerState();
    for (const info of appended) recovered.update(info);
    for (const info of appended.slice(-6)) {
      expect(recovered.check(info)).toEqual(live.check(info));
      expect(recovered.check(info).kind).toBe("duplicate");
    }
    expect([...recovered.entries()]).toEqual([...live.entries()]);
  });

  test("truncateTo removes the newest batches; a producer with none left is forgotten", () => {
    const state = new PartitionProducerState();
    const log = { end: 0n };
    append(state, batch({ producerId: 1n, baseSequence: 0 }), log); // offset 0
    append(state, batch({ producerId: 1n, baseSequence: 1 }), log); // offset 1
    append(state, batch({ producerId: 2n, baseSequence: 0 }), log); // offset 2
    state.truncateTo(1n);
    expect(state.entry(2n)).toBeUndefined();
    expect(state.entry(1n)?.batches.length).toBe(1);
    // Sequence 1 of producer 1 is no longer in the log: it is expected again, not a duplicate.
    expect(state.check(batch({ producerId: 1n, baseSequence: 1 })).kind).toBe("append");
  });

  test("producers expire after producer.id.expiration.ms; the oldest go beyond producersMax", () => {
    let now = 1_000_000;
    const state = new PartitionProducerState({ producerIdExpirationMs: 60_000, nowMs: () => now, producersMax: 3 });
    const log = { end: 0n };
    append(state, batch({ producerId: 1n, baseSequence: 0, maxTimestamp: BigInt(now) }), log);
    now += 30_000;
    append(state, batch({ producerId: 2n, baseSequence: 0, maxTimestamp: BigInt(now) }), log);
    now += 30_000;
    expect(state.removeExpired()).toBe(1);
    expect(state.entry(1n)).toBeUndefined();
    expect(state.entry(2n)).toBeDefined();
    // The sweep also runs by itself from update() once per check interval (10 minutes).
    now += 11 * 60_000;
    append(state, batch({ producerId: 3n, baseSequence: 0, maxTimestamp: BigInt(now) }), log);
    expect(state.entry(2n)).toBeUndefined();
    for (const id of [4n, 5n, 6n]) append(state, batch({ producerId: id, baseSequence: 0, maxTimestamp: BigInt(now) }), log);
    expect(state.size).toBe(3);
    expect(state.entry(3n)).toBeUndefined();
    expect(state.entry(6n)).toBeDefined();
  });

  test("snapshots round-trip and refuse damaged bytes", () => {
    const state = new PartitionProducerState();
    const log = { end: 0n };
    for (let index = 0; index < 12; index++) {
      append(state, batch({ producerId: BigInt(index % 4), producerEpoch: index % 4, baseSequence: Math.floor(index / 4) * 2, recordCount: 2 }), log);
    }
    const bytes = state.encodeSnapshot(log.end);
    const restored = new PartitionProducerState();
    expect(restored.loadSnapshot(bytes)).toBe(24n);
    expect([...restored.entries()]).toEqual([...state.entries()]);
    for (let index = 0; index < bytes.length; index += 7) {
      const damaged = bytes.slice();
      damaged[index]! ^= 0x10;
      expect(() => decodeProducerSnapshot(damaged)).toThrow(ProducerSnapshotError);
    }
    expect(() => decodeProducerSnapshot(bytes.subarray(0, bytes.length - 1))).toThrow(ProducerSnapshotError);
  });
});
