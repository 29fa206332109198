// Live streams: one long-lived response that carries a partition's (or a whole topic's) records as
// they are appended, as Server-Sent Events, newline-delimited JSON or a CBOR sequence. Over HTTP/2
// many of them share one connection, each its own HTTP/2 stream.
//
// Flow control, end to end: the response body is a pull stream whose queue holds at most
// http.stream.buffer.bytes. Records are read from the log only when the stream pulls, that is when
// the client has taken what was sent (HTTP/2 window updates, TCP acknowledgements over HTTP/1.1
// let Bun drain the queue). A client that stops reading therefore stops the reads: its stream
// holds one queue's worth of bytes and the broker's memory stays flat however much is produced.
//
// With nothing to send, a keep-alive goes out every http.stream.keepalive.ms (an SSE comment, an
// empty NDJSON line; CBOR sequences have no comment and send nothing) so that proxies and Bun's
// idle timeout (http.idle.timeout.ms) do not cut a quiet stream.
//
// SSE events carry an id with every partition's next offset ("0=17,1=4"): a browser's EventSource
// reconnects with Last-Event-ID and the stream resumes exactly there.

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { HttpBackend } from "./backend.ts";
import { toCbor, toJsonText, utf8 } from "./encoding.ts";
import { HttpError, toHttpError } from "./errors.ts";
import { showRecord, type ShowAs } from "./records.ts";

export type LiveFormat = "sse" | "ndjson" | "cbor-seq";

export const liveMediaTypes: Record<LiveFormat, string> = {
  sse: "text/event-stream",
  ndjson: "application/x-ndjson",
  "cbor-seq": "application/cbor-seq",
};

export interface LiveStreamOptions {
  backend: HttpBackend;
  topic: string;
  /** Next offset to send, per partition. */
  positions: Map<number, bigint>;
  format: LiveFormat;
  keyAs: ShowAs;
  valueAs: ShowAs;
  bufferBytes: number;
  keepaliveMs: number;
  /** Largest read per pull (bytes of batches). */
  readBytesMax: number;
  signal: AbortSignal;
}

/** Open streams of the node, bounded (http.streams.max), with the bytes they have queued. */
export class LiveStreams {
  private open = 0;
  /** Bytes enqueued in total and per open stream, for /metrics. */
  bytesSent = 0;

  constructor(private readonly max: number) {}

  get count(): number {
    return this.open;
  }

  /** Reserve a slot (503 when full); the returned function frees it (idempotent). */
  acquire(): () => void {
    if (this.open >= this.max) throw new HttpError(503, 503, `Too many live streams open (http.streams.max = ${this.max}).`);
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
    };
  }
}

function positionsId(positions: Map<number, bigint>): string {
  return [...positions].map(([partition, offset]) => `${partition}=${offset}`).join(",");
}

/** Positions from a Last-Event-ID ("0=17,1=4"); only partitions of `partitions` are taken. */
export function parsePositionsId(text: string, partitions: readonly number[]): Map<number, bigint> | null {
  const positions = new Map<number, bigint>();
  for (const part of text.split(",")) {
    const match = /^(\d{1,9})=(\d{1,19})$/.exec(part.trim());
    if (!match) return null;
    const partition = Number(match[1]);
    if (partitions.includes(partition)) positions.set(partition, BigInt(match[2]!));
  }
  return positions;
}

export function liveStream(options: LiveStreamOptions, streams: LiveStreams, release: () => void): ReadableStream<Uint8Array> {
  const partitions = [...options.positions.keys()];
  const cbor = options.format === "cbor-seq";
  const keepalive = options.format === "sse" ? utf8(": keep-alive\n\n") : options.format === "ndjson" ? utf8("\n") : null;
  const local = new AbortController();
  const onAbort = () => local.abort();
  options.signal.addEventListener("abort", onAbort, { once: true });
  let next = 0; // round robin over partitions, so that one busy partition does not starve the others
  let lastSent = performance.now();

  const finish = () => {
    options.signal.removeEventListener("abort", onAbort);
    local.abort();
    release();
  };

  const encodeRecords = (records: Awaited<ReturnType<HttpBackend["read"]>>["records"]): Uint8Array => {
    if (cbor) {
      const parts = records.map((record) => toCbor(showRecord(record, options.keyAs, options.valueAs, true)));
      const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of parts) {
        joined.set(part, at);
        at += part.length;
      }
      return joined;
    }
    let text = "";
    for (const record of records) {
      const json = toJsonText(showRecord(record, options.keyAs, options.valueAs, false));
      if (options.format === "ndjson") text += json + "\n";
      else {
        // The id after this record: every partition's position, this one past the record.
        options.positions.set(record.partition, record.offset + 1n);
        text += `id: ${positionsId(options.positions)}\nevent: record\ndata: ${json}\n\n`;
      }
    }
    return utf8(text);
  };

  /** One pass over the partitions from the round-robin cursor: the first that has records. */
  const readSome = async (budget: number): Promise<Uint8Array | null> => {
    for (let tried = 0; tried < partitions.length; tried++) {
      const partition = partitions[(next + tried) % partitions.length]!;
      const offset = options.positions.get(partition)!;
      let result;
      try {
        result = await options.backend.read({ topic: options.topic, partition, offset, maxBytes: budget, waitMs: 0 });
      } catch (error) {
        if (!(error instanceof KafkaError && error.code === ErrorCode.OFFSET_OUT_OF_RANGE)) throw error;
        // Retention (or DeleteRecords) removed what the stream was about to send: go on from the
        // new log start, as a consumer with auto.offset.reset=earliest does (or from the end, if
        // the log was cut below the position).
        const offsets = await options.backend.partitionOffsets(options.topic, partition);
        options.positions.set(partition, offset > offsets.highWatermark ? offsets.highWatermark : offsets.logStartOffset);
        continue;
      }
      if (result.records.length === 0) {
        options.positions.set(partition, result.nextOffset);
        continue;
      }
      next = (next + tried + 1) % partitions.length;
      const bytes = encodeRecords(result.records);
      options.positions.set(partition, result.nextOffset);
      return bytes;
    }
    return null;
  };

  /** Park until any partition has records past its position, the keep-alive interval, or abort. */
  const waitAny = async (): Promise<void> => {
    const round = new AbortController();
    const stop = () => round.abort();
    local.signal.addEventListener("abort", stop, { once: true });
    const waitMs = Math.max(1, options.keepaliveMs - (performance.now() - lastSent));
    try {
      await Promise.race(partitions.map((partition) =>
        options.backend.waitForRecords(options.topic, partition, options.positions.get(partition)!, waitMs, round.signal)));
    } finally {
      round.abort();
      local.signal.removeEventListener("abort", stop);
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (options.format === "sse") {
          // The retry hint for EventSource, and a first byte so that the browser sees the stream open.
          controller.enqueue(utf8(`retry: 1000\n: stream of ${options.topic}\n\n`));
        }
      },
      async pull(controller) {
        try {
          for (;;) {
            if (local.signal.aborted) {
              finish();
              controller.close();
              return;
            }
            const budget = Math.max(1024, Math.min(options.readBytesMax, controller.desiredSize ?? options.bufferBytes));
            const bytes = await readSome(budget);
            if (bytes) {
              streams.bytesSent += bytes.length;
              lastSent = performance.now();
              controller.enqueue(bytes);
              return;
            }
            if (performance.now() - lastSent >= options.keepaliveMs) {
              lastSent = performance.now();
              if (keepalive) {
                controller.enqueue(keepalive);
                return;
              }
            }
            await waitAny();
          }
        } catch (error) {
          // The topic went away, or the broker is shutting down: say so, then end the stream.
          const httpError = toHttpError(error);
          const body = toJsonText(httpError.body());
          if (options.format === "sse") controller.enqueue(utf8(`event: error\ndata: ${body}\n\n`));
          else if (options.format === "ndjson") controller.enqueue(utf8(body + "\n"));
          else controller.enqueue(toCbor(httpError.body()));
          finish();
          controller.close();
        }
      },
      cancel() {
        finish();
      },
    },
    { highWaterMark: options.bufferBytes, size: (chunk) => chunk?.byteLength ?? 0 },
  );
}
