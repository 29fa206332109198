// Streaming produce (REST Proxy's streaming mode): one POST whose body is a stream of records
// (newline-delimited JSON or a CBOR sequence), answered by a stream of results in the same order,
// one per record: partition, offset and timestamp, or the error of that record.
//
//   request body ──▶ splitter (one document each) ──▶ pending queue (bounded bytes)
//                                                        │ consecutive records for one partition
//                                                        ▼
//                              one RecordBatch per run ──▶ backend.produce ──▶ answers, in order
//
// Records that arrive while a batch is being appended wait in the queue and go together in the
// next batch (the appender takes everything pending): the batch size follows the load, as a Kafka
// producer's linger does, without a timer. A batch holds at most `batchBytesMax` of record bytes.
//
// Nothing half-written: a bad record (malformed, wrong types, unknown partition) is answered with
// its error and the records before it are appended and answered first. If a multi-record batch is
// refused by the log (a record too large, a timestamp out of range) the log is unchanged and the
// batch is retried record by record, so that each record gets its own answer. A CBOR item that
// does not decode, or a line past http.request.max.bytes, ends the stream after its error.
//
// Backpressure: the body is read only while the queue is under its bound and the client reads
// the answers (the response stream's queue under its high-water mark).

import { isRecordRefusal } from "./produce-coalescer.ts";
import type { Acks, HttpBackend, ProduceResult } from "./backend.ts";
import { formatMediaType, toCbor, toJsonText, utf8, type BodyFormat } from "./encoding.ts";
import { HttpError, toHttpError } from "./errors.ts";
import { partitionForKey, type KeylessPartitioner } from "./partitioner.ts";
import { parseProduceRecord, type ParsedProduceRecord } from "./records.ts";
import { CborSeqSplitter, NdjsonSplitter, type SequenceItem, type SequenceSplitter } from "./sequence.ts";

let lastIsoMs = -1n;
let lastIso = "";

/** ISO 8601 of epoch milliseconds; consecutive records mostly share one, so the last is kept. */
function isoOf(ms: bigint): string {
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = new Date(Number(ms)).toISOString();
  }
  return lastIso;
}

/** What a produce answer says about one record (REST Proxy v3 ProduceResponse). */
export function produceAnswer(clusterId: string, topic: string, parsed: ParsedProduceRecord, result: ProduceResult, index: number) {
  return {
    error_code: 200,
    cluster_id: clusterId,
    topic_name: topic,
    partition_id: result.partition,
    offset: Number(result.baseOffset + BigInt(index)),
    timestamp: isoOf(result.timestampsMs[index]!),
    timestamp_type: result.timestampType,
    key: parsed.keyType === null ? null : { type: parsed.keyType, size: parsed.record.key?.length ?? 0 },
    value: parsed.valueType === null ? null : { type: parsed.valueType, size: parsed.record.value?.length ?? 0 },
  };
}

const answerPrefixes = new Map<string, string>();

/**
 * produceAnswer as JSON text, written directly: the hot path of every produce answer (building
 * the object and stringifying it cost more than the rest of the answer). Same fields, same order.
 */
export function produceAnswerJson(clusterId: string, topic: string, parsed: ParsedProduceRecord, result: ProduceResult, index: number): string {
  let prefix = answerPrefixes.get(topic);
  if (prefix === undefined) {
    prefix = `{"error_code":200,"cluster_id":${JSON.stringify(clusterId)},"topic_name":${JSON.stringify(topic)},"partition_id":`;
    if (answerPrefixes.size > 10000) answerPrefixes.clear(); // bounded: one entry per topic produced to
    answerPrefixes.set(topic, prefix);
  }
  const key = parsed.keyType === null ? "null" : `{"type":"${parsed.keyType}","size":${parsed.record.key?.length ?? 0}}`;
  const value = parsed.valueType === null ? "null" : `{"type":"${parsed.valueType}","size":${parsed.record.value?.length ?? 0}}`;
  return `${prefix}${result.partition},"offset":${result.baseOffset + BigInt(index)},"timestamp":"${isoOf(result.timestampsMs[index]!)}","timestamp_type":"${result.timestampType}","key":${key},"value":${value}}`;
}

/** The partition a record goes to: its own, else by key hash, else `keyless` (404 when out of range). */
export function targetPartition(topic: string, parsed: ParsedProduceRecord, partitionCount: number, keyless: () => number): number {
  if (parsed.partition !== null) {
    if (parsed.partition >= partitionCount) {
      throw new HttpError(404, 40402, `Partition ${parsed.partition} of topic '${topic}' not found (it has ${partitionCount}).`);
    }
    return parsed.partition;
  }
  if (parsed.record.key !== null) return partitionForKey(parsed.record.key, partitionCount);
  return keyless();
}

export interface StreamProduceOptions {
  backend: HttpBackend;
  clusterId: string;
  topic: string;
  partitionCount: number;
  acks: Acks;
  format: BodyFormat;
  keyless: KeylessPartitioner;
  recordBytesMax: number;
  /** Record bytes in one batch at most (and so in one append). */
  batchBytesMax: number;
  /** Parsed records waiting to be appended, at most (bytes). */
  pendingBytesMax: number;
  signal: AbortSignal;
}

type Pending = { kind: "record"; parsed: ParsedProduceRecord; bytes: number } | { kind: "error"; error: HttpError };

function recordBytes(parsed: ParsedProduceRecord): number {
  let bytes = (parsed.record.key?.length ?? 0) + (parsed.record.value?.length ?? 0) + 32;
  for (const header of parsed.record.headers) bytes += header.key.length + (header.value?.length ?? 0) + 8;
  return bytes;
}

/** Runs one streaming produce; returns the response body (a stream of answers). */
export function streamProduce(body: ReadableStream<Uint8Array>, options: StreamProduceOptions): ReadableStream<Uint8Array> {
  const splitter: SequenceSplitter = options.format === "cbor-seq" ? new CborSeqSplitter(options.recordBytesMax) : new NdjsonSplitter(options.recordBytesMax);
  const cbor = options.format === "cbor-seq";
  const encode = cbor ? (value: unknown) => toCbor(value) : (value: unknown) => utf8(toJsonText(value) + "\n");
  const queue: Pending[] = [];
  let queuedBytes = 0;
  let readerDone = false;
  let cancelled = false;
  let wakeAppender: (() => void) | null = null;
  let wakeReader: (() => void) | null = null;
  let responseController!: ReadableStreamDefaultController<Uint8Array>;
  let stickyPartition = -1;

  const wake = (which: "appender" | "reader") => {
    const fn = which === "appender" ? wakeAppender : wakeReader;
    if (which === "appender") wakeAppender = null;
    else wakeReader = null;
    fn?.();
  };
  const answer = (value: unknown) => {
    if (!cancelled) responseController.enqueue(encode(value));
  };
  const answerError = (error: HttpError) => answer(error.body());

  const enqueueItem = (item: SequenceItem) => {
    if (!item.ok) {
      queue.push({ kind: "error", error: item.error });
      return;
    }
    try {
      const parsed = parseProduceRecord(item.value);
      const bytes = recordBytes(parsed);
      queue.push({ kind: "record", parsed, bytes });
      queuedBytes += bytes;
    } catch (error) {
      queue.push({ kind: "error", error: toHttpError(error) });
    }
  };

  async function readBody(): Promise<void> {
    const reader = body.getReader();
    try {
      for (;;) {
        while (!cancelled && (queuedBytes > options.pendingBytesMax || (responseController.desiredSize ?? 1) <= 0)) {
          await new Promise<void>((resolve) => (wakeReader = resolve));
        }
        if (cancelled) break;
        const { done, value } = await reader.read();
        const items = done ? splitter.end() : splitter.push(value);
        for (const item of items) enqueueItem(item);
        wake("appender");
        if (done || items.some((item) => !item.ok && item.fatal)) break;
      }
    } catch (error) {
      // The client went away mid-body: what was complete is still appended and answered.
      queue.push({ kind: "error", error: new HttpError(400, 400, `Request body ended abruptly: ${(error as Error).message}`) });
    } finally {
      readerDone = true;
      wake("appender");
      reader.releaseLock();
    }
  }

  const keylessPartition = () => {
    if (stickyPartition < 0) stickyPartition = options.keyless.partition(options.topic, options.partitionCount);
    return stickyPartition;
  };

  /** Take the next run of records for one partition (up to batchBytesMax), or one error. */
  function takeRun(): { partition: number; records: ParsedProduceRecord[] } | { error: HttpError } | null {
    const first = queue[0];
    if (!first) return null;
    if (first.kind === "error") {
      queue.shift();
      return { error: first.error };
    }
    stickyPartition = -1; // a new batch may go to another partition, as Kafka's sticky partitioner
    let partition: number;
    try {
      partition = targetPartition(options.topic, first.parsed, options.partitionCount, keylessPartition);
    } catch (error) {
      queue.shift();
      queuedBytes -= first.bytes;
      return { error: toHttpError(error) };
    }
    const records: ParsedProduceRecord[] = [];
    let bytes = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (next.kind !== "record") break;
      if (records.length > 0 && bytes + next.bytes > options.batchBytesMax) break;
      let target: number;
      try {
        target = targetPartition(options.topic, next.parsed, options.partitionCount, keylessPartition);
      } catch {
        break; // answered as its own run
      }
      if (target !== partition) break;
      queue.shift();
      queuedBytes -= next.bytes;
      bytes += next.bytes;
      records.push(next.parsed);
    }
    return { partition, records };
  }

  async function appendRun(partition: number, records: ParsedProduceRecord[]): Promise<void> {
    try {
      const result = await options.backend.produce(options.topic, partition, records.map((parsed) => parsed.record), options.acks);
      if (cbor) records.forEach((parsed, index) => answer(produceAnswer(options.clusterId, options.topic, parsed, result, index)));
      else {
        // One string, one encode and one enqueue for the whole run: per-record chunks cost more than the records.
        let text = "";
        for (let index = 0; index < records.length; index++) text += produceAnswerJson(options.clusterId, options.topic, records[index]!, result, index) + "\n";
        if (!cancelled) responseController.enqueue(utf8(text));
      }
    } catch (error) {
      if (records.length === 1 || !isRecordRefusal(error)) {
        // Not a refusal of one record: the batch may have been written (an unknown outcome), so
        // every record of it gets the error, none is sent again.
        const httpError = toHttpError(error);
        for (let index = 0; index < records.length; index++) answerError(httpError);
        return;
      }
      // The log is unchanged: retry one by one so that each record gets its own answer.
      for (const parsed of records) await appendRun(partition, [parsed]);
    }
  }

  async function appendAll(): Promise<void> {
    while (!cancelled) {
      const run = takeRun();
      wake("reader");
      if (run === null) {
        if (readerDone) break;
        await new Promise<void>((resolve) => (wakeAppender = resolve));
        continue;
      }
      if ("error" in run) answerError(run.error);
      else await appendRun(run.partition, run.records);
    }
  }

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        responseController = controller;
        options.signal.addEventListener("abort", () => {
          cancelled = true;
          wake("reader");
        }, { once: true });
        void readBody();
        appendAll().then(
          () => {
            if (!cancelled) controller.close();
          },
          (error) => {
            if (!cancelled) controller.error(error);
          },
        );
      },
      pull() {
        wake("reader");
      },
      cancel() {
        cancelled = true;
        wake("reader");
        wake("appender");
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk?.byteLength ?? 0 },
  );
}

export function streamResponseType(format: BodyFormat): string {
  return formatMediaType(format === "cbor-seq" ? "cbor-seq" : "ndjson");
}
