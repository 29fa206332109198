// POST /v3/clusters/{cluster_id}/topics/{topic_name}/records — produce, shaped on REST Proxy v3.
//
//   Content-Type application/json or application/cbor: one record; the answer is one result
//   (200) or an error (4xx) and nothing was written.
//   Content-Type application/x-ndjson or application/cbor-seq: streaming mode, many records in
//   one request, answered in the same format, one result or error per record, in order
//   (produce-stream.ts).
//
// ?acks=0|1|-1|all (default http.producer.acks) has the Kafka producer's meaning; the append goes
// through the same policy as Kafka's Produce (cluster/partition-append.ts) via the backend. An
// unknown topic is 404 unless http.auto.create.topics.enable. Does not: schemas (AVRO, PROTOBUF,
// JSONSCHEMA need a schema registry), REST Proxy's records:batch.

import type { Context } from "hono";
import { isInternalTopic } from "../../cluster/index.ts";
import { parseDocument, readBody, requestFormat, responseFormat } from "../encoding.ts";
import { HttpError, topicNotFound } from "../errors.ts";
import { produceAnswer, produceAnswerJson, streamProduce, streamResponseType, targetPartition } from "../produce-stream.ts";
import { parseProduceRecord } from "../records.ts";
import { documentResponse, jsonResponse, type HttpDeps, type Router } from "../routing.ts";
import { acksOf, checkCluster } from "./common.ts";

/** Batches of a streaming produce hold at most this many record bytes (well under max.message.bytes). */
const streamBatchBytesMax = 512 * 1024;
const streamPendingBytesMax = 1 * 1024 * 1024;

/** The topic's partition count, or that it is to be created (http.auto.create.topics.enable); else 404. */
async function topicFor(deps: HttpDeps, topic: string): Promise<{ partitions: number | undefined; create: boolean }> {
  if (isInternalTopic(topic)) throw new HttpError(403, 403, `Cannot produce to internal topic '${topic}'.`);
  const partitions = await deps.backend.partitionCount(topic);
  if (partitions !== undefined) return { partitions, create: false };
  if (!deps.config["http.auto.create.topics.enable"]) throw topicNotFound(topic);
  return { partitions: undefined, create: true };
}

async function produceOne(c: Context, deps: HttpDeps, topic: string, format: "json" | "cbor"): Promise<Response> {
  // Headers straight from the request: Hono's c.req.header() goes through more steps per call.
  const out = responseFormat(c.req.raw.headers.get("accept") ?? undefined);
  const acks = acksOf(c, deps);
  const body = await readBody(c.req.raw, deps.config["http.request.max.bytes"]);
  if (body.length === 0) throw new HttpError(400, 400, "Empty body: expected one record.");
  const parsed = parseProduceRecord(parseDocument(body, format));
  const { partitions, create } = await topicFor(deps, topic);
  const partitionCount = partitions ?? deps.config["num.partitions"];
  const partition = targetPartition(topic, parsed, partitionCount, () => deps.keyless.partition(topic, partitionCount));
  if (create) {
    const result = await deps.backend.produce(topic, partition, [parsed.record], acks, true);
    return documentResponse(produceAnswer(deps.clusterId, topic, parsed, result, 0), out);
  }
  // Requests that arrive together for this partition share one append (produce-coalescer.ts).
  const { result, index } = await deps.coalescer.produce(topic, partition, parsed.record, acks);
  if (out === "json") return jsonResponse(produceAnswerJson(deps.clusterId, topic, parsed, result, index));
  return documentResponse(produceAnswer(deps.clusterId, topic, parsed, result, index), out);
}

async function produceStream(c: Context, deps: HttpDeps, topic: string, format: "ndjson" | "cbor-seq"): Promise<Response> {
  const acks = acksOf(c, deps);
  const { partitions } = await topicFor(deps, topic);
  // Streaming mode does not create topics: the stream's partitions are fixed when it starts.
  if (partitions === undefined) throw topicNotFound(topic);
  const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
  const stream = streamProduce(body, {
    backend: deps.backend,
    clusterId: deps.clusterId,
    topic,
    partitionCount: partitions,
    acks,
    format,
    keyless: deps.keyless,
    recordBytesMax: deps.config["http.request.max.bytes"],
    batchBytesMax: streamBatchBytesMax,
    pendingBytesMax: streamPendingBytesMax,
    signal: c.req.raw.signal,
  });
  return new Response(stream, { status: 200, headers: { "content-type": streamResponseType(format) } });
}

const produceTypes = ["json", "cbor", "ndjson", "cbor-seq"] as const;

export function registerProduceRoutes(router: Router, deps: HttpDeps): void {
  router.add(
    {
      method: "POST",
      path: "/v3/clusters/{cluster_id}/topics/{topic_name}/records",
      tag: "Records",
      summary: "Produce one record (JSON/CBOR body) or a stream of records (NDJSON / CBOR sequence body), answered per record in order.",
      requestTypes: ["application/json", "application/cbor", "application/x-ndjson", "application/cbor-seq"],
      responseTypes: ["application/json", "application/cbor", "application/x-ndjson", "application/cbor-seq"],
      query: [{ name: "acks", in: "query", description: "0, 1, -1 or all (default http.producer.acks)" }],
    },
    async (c) => {
      checkCluster(c, deps);
      const topic = c.req.param("topic_name")!;
      const format = requestFormat(c.req.raw.headers.get("content-type") ?? undefined, produceTypes);
      if (format === "json" || format === "cbor") return produceOne(c, deps, topic, format);
      return produceStream(c, deps, topic, format);
    },
  );
}
