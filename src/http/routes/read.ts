// Consuming without a group: direct reads of a partition and live streams.
//
//   GET …/topics/{topic_name}/partitions/{partition_id}/records
//       ?offset=N | ?timestamp=MS | ?from=earliest|latest   (default earliest)
//       &max_bytes=B (default 1 MiB, at most fetch.max.bytes) &timeout_ms=T (long poll, at most
//       http.long.poll.max.ms) &key_format= &value_format= (binary|string|json; default binary)
//     → {"records": […], "next_offset", "high_watermark", "log_start_offset"} in JSON or CBOR.
//     A read at the end of the partition waits up to timeout_ms for the first record; an offset
//     outside log start … high watermark is 416.
//
//   GET …/topics/{topic_name}/partitions/{partition_id}/stream  (one partition)
//   GET …/topics/{topic_name}/stream                            (every partition of the topic)
//       same position parameters (default latest), Accept: text/event-stream (SSE),
//       application/x-ndjson (default) or application/cbor-seq; SSE resumes from Last-Event-ID.
//
// REST Proxy has no equivalent of these (its v2 consumers are the only way to read); the shapes
// follow its v3 naming (topic_name, partition_id) and record typing.

import type { Context } from "hono";
import type { HttpBackend, TopicInfo } from "../backend.ts";
import { int64, negotiate, responseFormat } from "../encoding.ts";
import { badRequest, partitionNotFound, topicNotFound } from "../errors.ts";
import { liveMediaTypes, liveStream, parsePositionsId, type LiveFormat } from "../live-stream.ts";
import { parseShowAs, parseTimestamp, showRecord } from "../records.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { bigintQuery, checkCluster, intParam, intQuery } from "./common.ts";

const readBytesDefault = 1024 * 1024;

type Start = { offset: bigint } | { timestampMs: bigint } | { from: "earliest" | "latest" };

function startOf(c: Context, fallback: "earliest" | "latest"): Start {
  const offset = bigintQuery(c, "offset");
  const timestamp = c.req.query("timestamp");
  const from = c.req.query("from");
  const given = [offset !== undefined, timestamp !== undefined, from !== undefined].filter(Boolean).length;
  if (given > 1) throw badRequest("give at most one of offset, timestamp and from");
  if (offset !== undefined) return { offset };
  if (timestamp !== undefined) return { timestampMs: parseTimestamp(timestamp)! };
  if (from === undefined) return { from: fallback };
  if (from !== "earliest" && from !== "latest") throw badRequest(`from must be earliest or latest, was '${from}'`);
  return { from };
}

async function topicOf(deps: HttpDeps, name: string): Promise<TopicInfo> {
  const topic = await deps.backend.describeTopic(name);
  if (!topic) throw topicNotFound(name);
  return topic;
}

function checkPartition(topic: TopicInfo, partition: number): void {
  if (partition >= topic.partitions.length) throw partitionNotFound(topic.name, partition);
}

/** The offset a start means for one partition now. */
async function resolveStart(backend: HttpBackend, topic: string, partition: number, start: Start): Promise<bigint> {
  if ("offset" in start) return start.offset;
  if ("timestampMs" in start) {
    const read = await backend.read({ topic, partition, timestampMs: start.timestampMs, maxBytes: 1, waitMs: 0 });
    return read.records[0]?.offset ?? read.highWatermark;
  }
  const offsets = await backend.partitionOffsets(topic, partition);
  return start.from === "earliest" ? offsets.logStartOffset : offsets.highWatermark;
}

async function readPartition(c: Context, deps: HttpDeps): Promise<Response> {
  checkCluster(c, deps);
  const format = responseFormat(c.req.header("accept"));
  const topic = await topicOf(deps, c.req.param("topic_name")!);
  const partition = intParam(c, "partition_id");
  checkPartition(topic, partition);
  const start = startOf(c, "earliest");
  const maxBytes = intQuery(c, "max_bytes", readBytesDefault, deps.config["fetch.max.bytes"]);
  const waitMs = intQuery(c, "timeout_ms", 0, deps.config["http.long.poll.max.ms"]);
  const keyAs = parseShowAs(c.req.query("key_format"), "key_format");
  const valueAs = parseShowAs(c.req.query("value_format"), "value_format");
  const signal = AbortSignal.any([c.req.raw.signal, deps.shutdownSignal]);
  const startFields = "timestampMs" in start ? { timestampMs: start.timestampMs } : { offset: await resolveStart(deps.backend, topic.name, partition, start) };
  const result = await deps.backend.read({ topic: topic.name, partition, ...startFields, maxBytes: Math.max(1, maxBytes), waitMs, signal });
  const cbor = format === "cbor";
  return documentResponse({
    cluster_id: deps.clusterId,
    topic_name: topic.name,
    partition_id: partition,
    records: result.records.map((record) => showRecord(record, keyAs, valueAs, cbor)),
    next_offset: int64(result.nextOffset),
    high_watermark: int64(result.highWatermark),
    log_start_offset: int64(result.logStartOffset),
  }, format);
}

async function openStream(c: Context, deps: HttpDeps, allPartitions: boolean): Promise<Response> {
  checkCluster(c, deps);
  const mediaType = negotiate(c.req.header("accept"), [liveMediaTypes.ndjson, liveMediaTypes.sse, liveMediaTypes["cbor-seq"]]);
  const format = (Object.keys(liveMediaTypes) as LiveFormat[]).find((key) => liveMediaTypes[key] === mediaType)!;
  const topic = await topicOf(deps, c.req.param("topic_name")!);
  const partitions = allPartitions ? topic.partitions.map((partition) => partition.partition) : [intParam(c, "partition_id")];
  if (!allPartitions) checkPartition(topic, partitions[0]!);
  const keyAs = parseShowAs(c.req.query("key_format"), "key_format");
  const valueAs = parseShowAs(c.req.query("value_format"), "value_format");
  const start = startOf(c, "latest");
  const lastEventId = c.req.header("last-event-id");
  const resumed = lastEventId ? parsePositionsId(lastEventId, partitions) : null;
  const positions = new Map<number, bigint>();
  for (const partition of partitions) {
    positions.set(partition, resumed?.get(partition) ?? (await resolveStart(deps.backend, topic.name, partition, start)));
  }
  const release = deps.streams.acquire();
  const body = liveStream({
    backend: deps.backend,
    topic: topic.name,
    positions,
    format,
    keyAs,
    valueAs,
    bufferBytes: deps.config["http.stream.buffer.bytes"],
    keepaliveMs: deps.config["http.stream.keepalive.ms"],
    readBytesMax: deps.config["http.stream.buffer.bytes"],
    signal: AbortSignal.any([c.req.raw.signal, deps.shutdownSignal]),
  }, deps.streams, release);
  return new Response(body, {
    headers: { "content-type": mediaType, "cache-control": "no-cache", "x-accel-buffering": "no" },
  });
}

const positionQuery = [
  { name: "offset", in: "query", description: "start at this offset" },
  { name: "timestamp", in: "query", description: "start at the first record at or after this time (epoch ms or ISO 8601)" },
  { name: "from", in: "query", description: "earliest or latest" },
  { name: "key_format", in: "query", description: "binary (default), string or json" },
  { name: "value_format", in: "query", description: "binary (default), string or json" },
] as const;

export function registerReadRoutes(router: Router, deps: HttpDeps): void {
  router.add(
    {
      method: "GET",
      path: "/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}/records",
      tag: "Records",
      summary: "Read records of a partition from an offset or a timestamp, long polling up to timeout_ms for the first one.",
      responseTypes: ["application/json", "application/cbor"],
      query: [
        ...positionQuery,
        { name: "max_bytes", in: "query", description: "about this many bytes of batches at most (default 1 MiB)" },
        { name: "timeout_ms", in: "query", description: "long poll: wait this long for a first record (default 0)" },
      ],
    },
    (c) => readPartition(c, deps),
  );
  router.add(
    {
      method: "GET",
      path: "/v3/clusters/{cluster_id}/topics/{topic_name}/partitions/{partition_id}/stream",
      tag: "Records",
      summary: "Live stream of a partition's records (SSE, NDJSON or CBOR sequence), flow-controlled; SSE resumes from Last-Event-ID.",
      responseTypes: [liveMediaTypes.ndjson, liveMediaTypes.sse, liveMediaTypes["cbor-seq"]],
      query: positionQuery,
    },
    (c) => openStream(c, deps, false),
  );
  router.add(
    {
      method: "GET",
      path: "/v3/clusters/{cluster_id}/topics/{topic_name}/stream",
      tag: "Records",
      summary: "Live stream of every partition of a topic (SSE, NDJSON or CBOR sequence), flow-controlled.",
      responseTypes: [liveMediaTypes.ndjson, liveMediaTypes.sse, liveMediaTypes["cbor-seq"]],
      query: positionQuery,
    },
    (c) => openStream(c, deps, true),
  );
}
