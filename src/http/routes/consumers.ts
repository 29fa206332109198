// Group consumption over HTTP, shaped on REST Proxy v2's consumer instances (v3 has none):
//   POST   /consumers/{group_name}                                  create {"name", "format", "auto.offset.reset", "auto.commit.enable"} → {"instance_id", "base_uri"}
//   DELETE /consumers/{group_name}/instances/{instance}              leave the group, remove (204)
//   POST   …/instances/{instance}/subscription                       {"topics": […]} or {"topic_pattern": "regex"} (204)
//   GET    …/instances/{instance}/subscription                       {"topics": […]}
//   DELETE …/instances/{instance}/subscription                       unsubscribe (204)
//   GET    …/instances/{instance}/assignments                        {"partitions": [{"topic", "partition"}]}
//   GET    …/instances/{instance}/records?timeout=&max_bytes=        [{"topic", "key", "value", "partition", "offset", …}]
//   POST   …/instances/{instance}/offsets                            {"offsets": [{"topic", "partition", "offset"}]}; no body: every position delivered
//   GET    …/instances/{instance}/offsets                            committed offsets of the assigned partitions
//   POST   …/instances/{instance}/positions[/beginning|/end]         seek
// Record keys and values are shown per the instance's format: binary (base64 in JSON, byte
// strings in CBOR), json (the parsed document) or string (UTF-8 text). Offsets committed are the
// next offset to read, as Kafka. Does not: manual assignment (POST …/assignments), schemas.

import type { Context } from "hono";
import { int64, parseDocument, readBody, requestFormat, responseFormat } from "../encoding.ts";
import { badRequest, HttpError, RestErrorCode } from "../errors.ts";
import type { ConsumerInstance, TopicPartitionRef } from "../consumer-instances.ts";
import { showV2Record, type ShowAs } from "../records.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { baseUrl, intQuery } from "./common.ts";

/** A JSON/CBOR object body; an empty body is an empty object. */
async function objectBody(c: Context, deps: HttpDeps): Promise<Record<string, unknown>> {
  const raw = await readBody(c.req.raw, deps.config["http.request.max.bytes"]);
  if (raw.length === 0) return {};
  const format = requestFormat(c.req.header("content-type"), ["json", "cbor"]) as "json" | "cbor";
  const document = parseDocument(raw, format);
  if (document === null || typeof document !== "object" || Array.isArray(document)) throw badRequest("The body must be an object.");
  return document as Record<string, unknown>;
}

function configValue(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" && typeof value !== "boolean" && typeof value !== "number") throw new HttpError(422, RestErrorCode.INVALID_CONSUMER_CONFIG, `${name} must be a string`);
  return String(value);
}

function partitionsOf(field: unknown, what: string, withOffset: boolean): (TopicPartitionRef & { offset: bigint })[] {
  if (!Array.isArray(field)) throw badRequest(`${what} must be an array of {"topic", "partition"${withOffset ? ', "offset"' : ""}}`);
  return field.map((entry, index) => {
    if (entry === null || typeof entry !== "object" || typeof entry.topic !== "string" || !Number.isInteger(entry.partition) || entry.partition < 0) {
      throw badRequest(`${what}[${index}] must be {"topic": string, "partition": integer${withOffset ? ', "offset": integer' : ""}}`);
    }
    let offset = -1n;
    if (withOffset) {
      if (!(Number.isSafeInteger(entry.offset) && entry.offset >= 0) && !(typeof entry.offset === "string" && /^\d{1,19}$/.test(entry.offset))) {
        throw badRequest(`${what}[${index}].offset must be a non-negative integer`);
      }
      offset = BigInt(entry.offset);
    }
    return { topic: entry.topic, partition: entry.partition, offset };
  });
}

function instanceOf(c: Context, deps: HttpDeps): ConsumerInstance {
  return deps.consumers.get(c.req.param("group_name")!, c.req.param("instance")!);
}

async function createInstance(c: Context, deps: HttpDeps): Promise<Response> {
  const group = c.req.param("group_name")!;
  const body = await objectBody(c, deps);
  const format = (configValue(body, "format") ?? "binary").toLowerCase();
  if (format !== "binary" && format !== "json" && format !== "string") {
    throw new HttpError(422, RestErrorCode.INVALID_CONSUMER_CONFIG, `format must be binary, json or string (schemas need a schema registry), was '${format}'`);
  }
  const reset = configValue(body, "auto.offset.reset") ?? "latest";
  if (reset !== "earliest" && reset !== "latest") throw new HttpError(422, RestErrorCode.INVALID_CONSUMER_CONFIG, `auto.offset.reset must be earliest or latest, was '${reset}'`);
  const autoCommit = configValue(body, "auto.commit.enable") ?? "true";
  if (autoCommit !== "true" && autoCommit !== "false") throw new HttpError(422, RestErrorCode.INVALID_CONSUMER_CONFIG, "auto.commit.enable must be true or false");
  const name = configValue(body, "name") ?? configValue(body, "id") ?? null;
  if (name !== null && !/^[A-Za-z0-9._-]{1,200}$/.test(name)) throw new HttpError(422, RestErrorCode.INVALID_CONSUMER_CONFIG, "name may hold letters, digits, '.', '_' and '-' (1-200)");
  const sessionTimeoutMs = Number(configValue(body, "session.timeout.ms") ?? 45000);
  if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs <= 0) throw new HttpError(422, RestErrorCode.INVALID_CONSUMER_CONFIG, "session.timeout.ms must be a positive integer");
  const instance = deps.consumers.create(group, name, {
    format,
    autoOffsetReset: reset,
    autoCommit: autoCommit === "true",
    sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(100, Math.min(3000, Math.floor(sessionTimeoutMs / 3))),
    rebalanceTimeoutMs: Math.max(sessionTimeoutMs, 60000),
  });
  return documentResponse({
    instance_id: instance.name,
    base_uri: `${baseUrl(c)}/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(instance.name)}`,
  }, responseFormat(c.req.header("accept")));
}

async function subscribe(c: Context, deps: HttpDeps): Promise<Response> {
  const instance = instanceOf(c, deps);
  const body = await objectBody(c, deps);
  let topics: string[];
  if (typeof body.topic_pattern === "string") {
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(?:${body.topic_pattern})$`);
    } catch (error) {
      throw badRequest(`topic_pattern is not a valid regular expression: ${(error as Error).message}`);
    }
    topics = (await deps.backend.listTopics()).filter((topic) => !topic.internal && pattern.test(topic.name)).map((topic) => topic.name);
  } else if (Array.isArray(body.topics) && body.topics.every((topic) => typeof topic === "string")) {
    topics = body.topics as string[];
  } else {
    throw badRequest('The body must be {"topics": [names]} or {"topic_pattern": "regex"}.');
  }
  instance.subscribe(topics);
  return new Response(null, { status: 204 });
}

async function records(c: Context, deps: HttpDeps): Promise<Response> {
  const instance = instanceOf(c, deps);
  const format = responseFormat(c.req.header("accept"));
  const timeoutMs = intQuery(c, "timeout", intQuery(c, "timeout_ms", 1000), deps.config["http.long.poll.max.ms"]);
  const maxBytes = intQuery(c, "max_bytes", 1024 * 1024, deps.config["fetch.max.bytes"]);
  const signal = AbortSignal.any([c.req.raw.signal, deps.shutdownSignal]);
  const consumed = await instance.fetch(Math.max(1, maxBytes), timeoutMs, signal);
  const cbor = format === "cbor";
  const shownAs: ShowAs = instance.config.format;
  return documentResponse(consumed.map((record) => showV2Record(record, shownAs, cbor)), format);
}

async function committedOffsets(c: Context, deps: HttpDeps): Promise<Response> {
  const instance = instanceOf(c, deps);
  const body = await objectBody(c, deps);
  const wanted = body.partitions === undefined ? instance.assignment : partitionsOf(body.partitions, "partitions", false);
  const byTopic = new Map<string, number[]>();
  for (const entry of wanted) byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), entry.partition]);
  const fetched = await deps.backend.fetchOffsets(instance.group, [...byTopic].map(([name, partitions]) => ({ name, partitions })));
  const offsets = fetched.topics.flatMap((topic) => topic.partitions.map((partition) => ({
    topic: topic.name, partition: partition.partition, offset: int64(partition.offset), metadata: partition.metadata ?? "",
  })));
  return documentResponse({ offsets }, responseFormat(c.req.header("accept")));
}

export function registerConsumerRoutes(router: Router, deps: HttpDeps): void {
  const json = ["application/json", "application/cbor"] as const;
  const instancePath = "/consumers/{group_name}/instances/{instance}";
  router.add({ method: "POST", path: "/consumers/{group_name}", tag: "Consumers (v2)", summary: "Create a consumer instance in a group.", requestTypes: json }, (c) => createInstance(c, deps));
  router.add({ method: "DELETE", path: instancePath, tag: "Consumers (v2)", summary: "Close a consumer instance (it leaves its group).", status: 204 }, async (c) => {
    await deps.consumers.remove(c.req.param("group_name")!, c.req.param("instance")!);
    return new Response(null, { status: 204 });
  });
  router.add({ method: "POST", path: `${instancePath}/subscription`, tag: "Consumers (v2)", summary: "Subscribe to topics (list or pattern).", requestTypes: json, status: 204 }, (c) => subscribe(c, deps));
  router.add({ method: "GET", path: `${instancePath}/subscription`, tag: "Consumers (v2)", summary: "The instance's subscription." }, (c) =>
    documentResponse({ topics: instanceOf(c, deps).subscription }, responseFormat(c.req.header("accept"))));
  router.add({ method: "DELETE", path: `${instancePath}/subscription`, tag: "Consumers (v2)", summary: "Unsubscribe from every topic.", status: 204 }, (c) => {
    instanceOf(c, deps).subscribe([]);
    return new Response(null, { status: 204 });
  });
  router.add({ method: "GET", path: `${instancePath}/assignments`, tag: "Consumers (v2)", summary: "The partitions the group assigned to the instance." }, (c) =>
    documentResponse({ partitions: instanceOf(c, deps).assignment }, responseFormat(c.req.header("accept"))));
  router.add({
    method: "GET", path: `${instancePath}/records`, tag: "Consumers (v2)", summary: "Fetch records from the assigned partitions (long poll up to timeout ms).",
    query: [{ name: "timeout", in: "query", description: "ms to wait for records (default 1000)" }, { name: "max_bytes", in: "query", description: "bytes at most (default 1 MiB)" }],
  }, (c) => records(c, deps));
  router.add({ method: "POST", path: `${instancePath}/offsets`, tag: "Consumers (v2)", summary: "Commit offsets (the next offset to read); no body: every position delivered.", requestTypes: json }, async (c) => {
    const instance = instanceOf(c, deps);
    const body = await objectBody(c, deps);
    await instance.commit(body.offsets === undefined ? null : partitionsOf(body.offsets, "offsets", true));
    return new Response(null, { status: 200 });
  });
  router.add({ method: "GET", path: `${instancePath}/offsets`, tag: "Consumers (v2)", summary: "The group's committed offsets of the given (default: assigned) partitions." }, (c) => committedOffsets(c, deps));
  router.add({ method: "POST", path: `${instancePath}/positions`, tag: "Consumers (v2)", summary: "Seek assigned partitions to offsets.", requestTypes: json, status: 204 }, async (c) => {
    const instance = instanceOf(c, deps);
    const entries = partitionsOf((await objectBody(c, deps)).offsets, "offsets", true);
    for (const entry of entries) await instance.seek([entry], { offset: entry.offset });
    return new Response(null, { status: 204 });
  });
  for (const to of ["beginning", "end"] as const) {
    router.add({ method: "POST", path: `${instancePath}/positions/${to}`, tag: "Consumers (v2)", summary: `Seek assigned partitions to their ${to}.`, requestTypes: json, status: 204 }, async (c) => {
      const instance = instanceOf(c, deps);
      await instance.seek(partitionsOf((await objectBody(c, deps)).partitions, "partitions", false), to);
      return new Response(null, { status: 204 });
    });
  }
}
