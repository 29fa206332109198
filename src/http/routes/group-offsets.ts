// Resetting a consumer group's committed offsets over HTTP, as Kafka's
// `kafka-consumer-groups --reset-offsets` (and `runnel groups reset-offsets`) does:
//
//   POST …/consumer-groups/{consumer_group_id}/offsets:reset
//     {"to": "earliest" | "latest" | "offset" | "timestamp" | "shift",
//      "offset": N (to=offset), "timestamp": ms or ISO 8601 (to=timestamp), "shift_by": ±N (to=shift),
//      "topics": [{"topic_name": "orders", "partitions": [0, 1]}]   (absent: every committed partition;
//                                                                    no "partitions": all of the topic's)
//      "execute": false}
//   → {"kind": "KafkaConsumerGroupOffsetsReset", "executed": bool,
//      "data": [{"topic_name", "partition_id", "current_offset" (null: none committed), "new_offset",
//                "log_start_offset", "high_watermark"}]}
//
// A dry run unless "execute": true, as Kafka's tool: the plan is answered and nothing changes. New
// offsets are kept within log start … high watermark. Executing needs a group without members
// (Empty, or unknown: a new group), as Kafka's tool: otherwise 409 and nothing is committed. The
// commit is Kafka's "simple" commit from outside the group (generation -1), through the same
// coordinator as OffsetCommit. REST Proxy has no equivalent; the shape follows its v3 naming.

import type { Context } from "hono";
import { assert } from "../../util/assert.ts";
import type { HttpBackend } from "../backend.ts";
import { int64, responseFormat } from "../encoding.ts";
import { badRequest, HttpError, partitionNotFound, topicNotFound } from "../errors.ts";
import { parseTimestamp } from "../records.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { checkCluster } from "./common.ts";
import { objectBody } from "./topics.ts";

type Target =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "offset"; offset: bigint }
  | { kind: "timestamp"; timestampMs: bigint }
  | { kind: "shift"; by: bigint };

interface PlannedOffset {
  topic: string;
  partition: number;
  current: bigint | null;
  next: bigint;
  logStartOffset: bigint;
  highWatermark: bigint;
}

function integerField(body: Record<string, unknown>, name: string, signed: boolean): bigint {
  const value = body[name];
  const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== "string" || !(signed ? /^-?\d{1,19}$/ : /^\d{1,19}$/).test(text)) throw badRequest(`${name} must be ${signed ? "an" : "a non-negative"} integer`);
  return BigInt(text);
}

function targetOf(body: Record<string, unknown>): Target {
  switch (body.to) {
    case "earliest":
    case "latest":
      return { kind: body.to };
    case "offset":
      return { kind: "offset", offset: integerField(body, "offset", false) };
    case "timestamp":
      if (body.timestamp === undefined || body.timestamp === null) throw badRequest("to=timestamp needs a timestamp (epoch ms or ISO 8601)");
      return { kind: "timestamp", timestampMs: parseTimestamp(body.timestamp)! };
    case "shift":
      return { kind: "shift", by: integerField(body, "shift_by", true) };
    default:
      throw badRequest(`to must be earliest, latest, offset, timestamp or shift, was ${JSON.stringify(body.to)}`);
  }
}

/** The partitions named by "topics", or every partition the group committed. */
async function partitionsOf(backend: HttpBackend, field: unknown, committed: Map<string, bigint>): Promise<{ topic: string; partition: number }[]> {
  if (field === undefined || field === null) {
    return [...committed.keys()].map((key) => {
      const [topic, partition] = key.split("\u0000") as [string, string];
      return { topic, partition: Number(partition) };
    });
  }
  if (!Array.isArray(field)) throw badRequest('topics must be an array of {"topic_name", "partitions"}');
  const chosen: { topic: string; partition: number }[] = [];
  for (const [index, entry] of field.entries()) {
    if (entry === null || typeof entry !== "object" || typeof entry.topic_name !== "string") throw badRequest(`topics[${index}] must be {"topic_name": string, "partitions": [int]}`);
    const topic = await backend.describeTopic(entry.topic_name);
    if (!topic) throw topicNotFound(entry.topic_name);
    const all = topic.partitions.map((partition) => partition.partition);
    const partitions: unknown = entry.partitions ?? all;
    if (!Array.isArray(partitions) || !partitions.every((partition) => Number.isInteger(partition))) throw badRequest(`topics[${index}].partitions must be an array of partition ids`);
    for (const partition of partitions as number[]) {
      if (!all.includes(partition)) throw partitionNotFound(topic.name, partition);
      chosen.push({ topic: topic.name, partition });
    }
  }
  return chosen;
}

async function planOne(backend: HttpBackend, target: Target, entry: { topic: string; partition: number }, current: bigint | null): Promise<PlannedOffset> {
  const { logStartOffset, highWatermark } = await backend.partitionOffsets(entry.topic, entry.partition);
  let wanted: bigint;
  switch (target.kind) {
    case "earliest": wanted = logStartOffset; break;
    case "latest": wanted = highWatermark; break;
    case "offset": wanted = target.offset; break;
    case "shift": wanted = (current ?? highWatermark) + target.by; break;
    case "timestamp": {
      const read = await backend.read({ topic: entry.topic, partition: entry.partition, timestampMs: target.timestampMs, maxBytes: 1, waitMs: 0 });
      wanted = read.records[0]?.offset ?? highWatermark;
      break;
    }
  }
  const next = wanted < logStartOffset ? logStartOffset : wanted > highWatermark ? highWatermark : wanted;
  assert(next >= logStartOffset && next <= highWatermark, "a reset offset stays within the log");
  return { ...entry, current, next, logStartOffset, highWatermark };
}

async function committedOffsets(backend: HttpBackend, groupId: string): Promise<Map<string, bigint>> {
  const fetched = await backend.fetchOffsets(groupId, null);
  const committed = new Map<string, bigint>();
  for (const topic of fetched.topics) {
    for (const partition of topic.partitions) if (partition.offset >= 0n) committed.set(`${topic.name}\u0000${partition.partition}`, partition.offset);
  }
  return committed;
}

async function execute(backend: HttpBackend, groupId: string, planned: PlannedOffset[]): Promise<void> {
  const group = await backend.describeGroup(groupId);
  if (group.errorCode === 0 && group.state !== "Empty" && group.state !== "Dead") {
    throw new HttpError(409, 409, `Consumer group '${groupId}' is ${group.state} with ${group.members.length} member(s): stop its consumers before resetting its offsets.`);
  }
  const byTopic = new Map<string, { partition: number; offset: bigint; leaderEpoch: number; metadata: string | null }[]>();
  for (const entry of planned) {
    const list = byTopic.get(entry.topic) ?? [];
    list.push({ partition: entry.partition, offset: entry.next, leaderEpoch: -1, metadata: "" });
    byTopic.set(entry.topic, list);
  }
  const result = await backend.commitOffsets({ groupId, generationId: -1, memberId: "", groupInstanceId: null, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) });
  const failed = result.topics.flatMap((topic) => topic.partitions.filter((partition) => partition.errorCode !== 0).map((partition) => `${topic.name}-${partition.partition} (error ${partition.errorCode})`));
  if (failed.length > 0) throw new HttpError(409, 409, `Consumer group '${groupId}' refused the new offsets of ${failed.join(", ")}.`);
}

export function registerGroupOffsetRoutes(router: Router, deps: HttpDeps): void {
  router.add({
    method: "POST",
    path: "/v3/clusters/{cluster_id}/consumer-groups/{consumer_group_id}/offsets:reset",
    tag: "Consumer groups",
    summary: "Plan (dry run, the default) or execute (\"execute\": true, group without members) a reset of committed offsets.",
    requestTypes: ["application/json", "application/cbor"],
  }, async (c: Context) => {
    checkCluster(c, deps);
    const groupId = c.req.param("consumer_group_id")!;
    const body = await objectBody(c, deps);
    const target = targetOf(body);
    if (body.execute !== undefined && typeof body.execute !== "boolean") throw badRequest("execute must be true or false");
    const committed = await committedOffsets(deps.backend, groupId);
    const partitions = await partitionsOf(deps.backend, body.topics, committed);
    if (partitions.length === 0) throw badRequest(`Consumer group '${groupId}' has no committed offsets: name the topics to reset.`);
    const planned: PlannedOffset[] = [];
    for (const entry of partitions) planned.push(await planOne(deps.backend, target, entry, committed.get(`${entry.topic}\u0000${entry.partition}`) ?? null));
    if (body.execute === true) await execute(deps.backend, groupId, planned);
    return documentResponse({
      kind: "KafkaConsumerGroupOffsetsReset",
      cluster_id: deps.clusterId,
      consumer_group_id: groupId,
      executed: body.execute === true,
      data: planned.map((entry) => ({
        topic_name: entry.topic,
        partition_id: entry.partition,
        current_offset: entry.current === null ? null : int64(entry.current),
        new_offset: int64(entry.next),
        log_start_offset: int64(entry.logStartOffset),
        high_watermark: int64(entry.highWatermark),
      })),
    }, responseFormat(c.req.header("accept")));
  });
}
