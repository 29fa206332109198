// One-record produce requests that arrive together for the same partition go to the log as one
// RecordBatch, as a Kafka producer batches the records its callers send (linger): each request
// still gets its own offset (base offset + its index) and its own answer.
//
//   request ─┐
//   request ─┼─▶ pending(topic, partition, acks) ──▶ one append in flight per key ──▶ answers
//   request ─┘      flushed after the current turn of the event loop (setImmediate), or as
//                   soon as the previous append of the same key completes
//
// Without it every request costs one append (one write system call and its bookkeeping): with
// 100 concurrent HTTP/2 streams the appends, not HTTP, were the ceiling. A batch refused by the
// log (one record too large, a timestamp out of range) leaves the log unchanged and is retried
// record by record, so that a bad record fails only its own request; any other failure fails
// every request of the batch (it may have been written: never retried into duplicates).

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { Acks, HttpBackend, ProduceRecord, ProduceResult } from "./backend.ts";

/**
 * Refusals of a batch for what one of its records is: the log is unchanged, and the records are
 * worth trying one by one. Any other error (NOT_ENOUGH_REPLICAS_AFTER_APPEND, a forwarded request
 * whose outcome is unknown) may have written the batch: retrying it would duplicate records.
 */
const recordRefusals: ReadonlySet<number> = new Set([
  ErrorCode.MESSAGE_TOO_LARGE,
  ErrorCode.RECORD_LIST_TOO_LARGE,
  ErrorCode.INVALID_RECORD,
  ErrorCode.INVALID_TIMESTAMP,
  ErrorCode.CORRUPT_MESSAGE,
]);

/** True when a batch was refused for one of its records and nothing of it was written. */
export function isRecordRefusal(error: unknown): boolean {
  return error instanceof KafkaError && recordRefusals.has(error.code);
}

interface Waiter {
  record: ProduceRecord;
  bytes: number;
  resolve(result: { result: ProduceResult; index: number }): void;
  reject(error: unknown): void;
}

interface Lane {
  topic: string;
  partition: number;
  acks: Acks;
  pending: Waiter[];
  inFlight: boolean;
  scheduled: boolean;
}

function sizeOf(record: ProduceRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0) + 32;
  for (const header of record.headers) bytes += header.key.length + (header.value?.length ?? 0) + 8;
  return bytes;
}

export class ProduceCoalescer {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly backend: HttpBackend,
    /** Record bytes in one batch at most. */
    private readonly batchBytesMax: number,
  ) {}

  produce(topic: string, partition: number, record: ProduceRecord, acks: Acks): Promise<{ result: ProduceResult; index: number }> {
    const key = `${topic}\u0000${partition}\u0000${acks}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { topic, partition, acks, pending: [], inFlight: false, scheduled: false };
      this.lanes.set(key, lane);
    }
    const promise = new Promise<{ result: ProduceResult; index: number }>((resolve, reject) => {
      lane.pending.push({ record, bytes: sizeOf(record), resolve, reject });
    });
    this.schedule(key, lane);
    return promise;
  }

  private schedule(key: string, lane: Lane): void {
    if (lane.inFlight || lane.scheduled) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      void this.flush(key, lane);
    });
  }

  private take(lane: Lane): Waiter[] {
    let bytes = 0;
    let count = 0;
    while (count < lane.pending.length && (count === 0 || bytes + lane.pending[count]!.bytes <= this.batchBytesMax)) {
      bytes += lane.pending[count]!.bytes;
      count++;
    }
    return lane.pending.splice(0, count);
  }

  private async flush(key: string, lane: Lane): Promise<void> {
    if (lane.inFlight || lane.pending.length === 0) return;
    lane.inFlight = true;
    try {
      while (lane.pending.length > 0) await this.append(lane, this.take(lane));
    } finally {
      lane.inFlight = false;
      if (lane.pending.length === 0) this.lanes.delete(key);
    }
  }

  private async append(lane: Lane, waiters: Waiter[]): Promise<void> {
    try {
      const result = await this.backend.produce(lane.topic, lane.partition, waiters.map((waiter) => waiter.record), lane.acks);
      waiters.forEach((waiter, index) => waiter.resolve({ result, index }));
    } catch (error) {
      if (waiters.length === 1 || !isRecordRefusal(error)) {
        for (const waiter of waiters) waiter.reject(error);
        return;
      }
      // The log is unchanged: each record on its own, so that only the bad one fails.
      for (const waiter of waiters) await this.append(lane, [waiter]);
    }
  }
}
