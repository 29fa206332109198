// A partition whose log could not be opened at start (a file that cannot be read, an inconsistency
// recovery will not guess about): every operation answers KAFKA_STORAGE_ERROR with the reason,
// while every other partition of the node is served. Kafka takes a whole log directory offline on
// such errors; with one directory that would be every partition, so Runnel does it per partition.
// Nothing in its directory is touched; the next start tries again (after the operator's fix).

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { AppendResult, PartitionLog, ReadResult, TimestampOffset } from "./types.ts";

export class OfflineLog implements PartitionLog {
  readonly logStartOffset = 0n;
  readonly highWatermark = 0n;
  readonly logEndOffset = 0n;
  readonly sizeBytes = 0;
  readonly error: KafkaError;

  constructor(readonly topic: string, readonly partition: number, readonly directory: string, readonly reason: string) {
    this.error = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `partition ${topic}-${partition} is offline: ${reason}`);
  }

  append(): Promise<AppendResult> {
    return Promise.reject(this.error);
  }
  read(): ReadResult {
    throw this.error;
  }
  offsetForTimestamp(): TimestampOffset | null {
    throw this.error;
  }
  maxTimestampOffset(): TimestampOffset | null {
    throw this.error;
  }
  truncateTo(): Promise<void> {
    return Promise.reject(this.error);
  }
  deleteRecordsBefore(): Promise<bigint> {
    return Promise.reject(this.error);
  }
  updateConfig(): void {}
  waitForAppend(): Promise<void> {
    return Promise.resolve();
  }
  onAppend(_offset: bigint, wake: () => void): () => void {
    wake();
    return () => {};
  }
  flush(): Promise<void> {
    return Promise.reject(this.error);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The error of an offline partition's log, or null for a log that serves (handlers check this first). */
export function offlineError(log: PartitionLog | undefined): KafkaError | null {
  return log instanceof OfflineLog ? log.error : null;
}
