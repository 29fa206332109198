// Topics, partitions and topic configs, shaped on REST Proxy v3:
//   GET    …/topics                              list (?include_partitions=true: with partition_details)
//   POST   …/topics                              create {"topic_name", "partitions_count", "replication_factor", "configs": [{"name","value"}], "validate_only"}
//   GET    …/topics/{topic_name}                 describe, with each partition's leader, replicas and offsets
//   DELETE …/topics/{topic_name}                 delete (204)
//   GET    …/topics/{topic_name}/partitions[/{partition_id}]
//   GET    …/topics/{topic_name}/configs[/{name}]
//   PUT    …/topics/{topic_name}/configs/{name}  {"value": "…"} (204)
//   DELETE …/topics/{topic_name}/configs/{name}  back to the default (204)
//   POST   …/topics/{topic_name}/configs:alter   {"data": [{"name", "value", "operation": "SET"|"DELETE"|"APPEND"|"SUBTRACT"}], "validate_only"} (204)
// Beyond REST Proxy, a partition shows its leader id, replica ids, log start offset, high
// watermark, log end offset and size (REST Proxy links to them instead). Does not: partition
// reassignment, replication factors above 1 (a single node).

import type { Context } from "hono";
import type { ConfigChange, PartitionInfo, TopicInfo } from "../backend.ts";
import { int64, parseDocument, readBody, requestFormat, responseFormat } from "../encoding.ts";
import { badRequest, HttpError, partitionNotFound, topicNotFound } from "../errors.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { configResource, listResource } from "./cluster.ts";
import { baseUrl, boolQuery, checkCluster, intParam } from "./common.ts";

function topicsUrl(c: Context, deps: HttpDeps): string {
  return `${baseUrl(c)}/v3/clusters/${deps.clusterId}/topics`;
}

function partitionResource(c: Context, deps: HttpDeps, topic: TopicInfo, partition: PartitionInfo) {
  const self = `${topicsUrl(c, deps)}/${topic.name}/partitions/${partition.partition}`;
  return {
    kind: "KafkaPartition",
    metadata: { self, resource_name: `crn:///kafka=${deps.clusterId}/topic=${topic.name}/partition=${partition.partition}` },
    cluster_id: deps.clusterId,
    topic_name: topic.name,
    partition_id: partition.partition,
    leader: { related: `${self}/replicas/${partition.leader}` },
    replicas: { related: `${self}/replicas` },
    leader_id: partition.leader,
    replica_ids: partition.replicas,
    isr_ids: partition.isr,
    log_start_offset: int64(partition.logStartOffset),
    high_watermark: int64(partition.highWatermark),
    log_end_offset: int64(partition.logEndOffset),
    size_bytes: partition.sizeBytes,
  };
}

function topicResource(c: Context, deps: HttpDeps, topic: TopicInfo, withPartitions: boolean) {
  const self = `${topicsUrl(c, deps)}/${topic.name}`;
  return {
    kind: "KafkaTopic",
    metadata: { self, resource_name: `crn:///kafka=${deps.clusterId}/topic=${topic.name}` },
    cluster_id: deps.clusterId,
    topic_name: topic.name,
    topic_id: topic.id,
    is_internal: topic.internal,
    replication_factor: topic.replicationFactor,
    partitions_count: topic.partitions.length,
    partitions: { related: `${self}/partitions` },
    configs: { related: `${self}/configs` },
    ...(withPartitions ? { partition_details: topic.partitions.map((partition) => partitionResource(c, deps, topic, partition)) } : {}),
  };
}

async function topicOf(deps: HttpDeps, name: string): Promise<TopicInfo> {
  const topic = await deps.backend.describeTopic(name);
  if (!topic) throw topicNotFound(name);
  return topic;
}

/** A JSON or CBOR object body (400 when it is not an object). */
export async function objectBody(c: Context, deps: HttpDeps): Promise<Record<string, unknown>> {
  const format = requestFormat(c.req.header("content-type"), ["json", "cbor"]);
  const document = parseDocument(await readBody(c.req.raw, deps.config["http.request.max.bytes"]), format as "json" | "cbor");
  if (document === null || typeof document !== "object" || Array.isArray(document)) throw badRequest("The body must be an object.");
  return document as Record<string, unknown>;
}

function optionalBoolean(body: Record<string, unknown>, name: string): boolean {
  const value = body[name];
  if (value === undefined || value === null) return false;
  if (typeof value !== "boolean") throw badRequest(`${name} must be true or false`);
  return value;
}

function configList(field: unknown, what: string): { name: string; value: string | null; operation?: unknown }[] {
  if (field === undefined || field === null) return [];
  if (!Array.isArray(field)) throw badRequest(`${what} must be an array of {"name", "value"}`);
  return field.map((entry, index) => {
    if (entry === null || typeof entry !== "object" || typeof entry.name !== "string") throw badRequest(`${what}[${index}] must be {"name": string, "value": string}`);
    const value = entry.value;
    if (value !== undefined && value !== null && typeof value !== "string") throw badRequest(`${what}[${index}].value must be a string`);
    return { name: entry.name, value: value ?? null, operation: entry.operation };
  });
}

async function createTopic(c: Context, deps: HttpDeps): Promise<Response> {
  checkCluster(c, deps);
  const format = responseFormat(c.req.header("accept"));
  const body = await objectBody(c, deps);
  const name = body.topic_name;
  if (typeof name !== "string") throw badRequest("topic_name must be a string");
  const partitions = body.partitions_count ?? deps.config["num.partitions"];
  if (typeof partitions !== "number" || !Number.isInteger(partitions)) throw badRequest("partitions_count must be an integer");
  const replicationFactor = body.replication_factor ?? 1;
  if (replicationFactor !== 1 && replicationFactor !== -1) {
    throw new HttpError(400, 400, `replication_factor ${JSON.stringify(replicationFactor)} is more than the 1 broker of this cluster (INVALID_REPLICATION_FACTOR).`);
  }
  const configs: Record<string, string> = {};
  for (const entry of configList(body.configs, "configs")) {
    if (entry.value === null) throw badRequest(`configs: ${entry.name} needs a value`);
    configs[entry.name] = entry.value;
  }
  const validateOnly = optionalBoolean(body, "validate_only");
  const created = await deps.backend.createTopic(name, partitions, configs, validateOnly);
  const shown = validateOnly ? { ...created, partitions: new Array(partitions).fill(null).map((_, partition) => ({ partition, leader: deps.nodeId, replicas: [deps.nodeId], isr: [deps.nodeId], logStartOffset: 0n, highWatermark: 0n, logEndOffset: 0n, sizeBytes: 0 })) } : created;
  return documentResponse(topicResource(c, deps, shown, false), format, validateOnly ? 200 : 201);
}

async function alterConfigs(c: Context, deps: HttpDeps, topic: string, changes: ConfigChange[], validateOnly: boolean): Promise<Response> {
  await topicOf(deps, topic);
  await deps.backend.alterTopicConfigs(topic, changes, validateOnly);
  return new Response(null, { status: 204 });
}

const operations = new Set(["SET", "DELETE", "APPEND", "SUBTRACT"]);

function registerConfigRoutes(router: Router, deps: HttpDeps): void {
  const base = "/v3/clusters/{cluster_id}/topics/{topic_name}/configs";
  const listConfigs = async (c: Context) => {
    checkCluster(c, deps);
    const topic = (await topicOf(deps, c.req.param("topic_name")!)).name;
    const self = `${topicsUrl(c, deps)}/${topic}/configs`;
    return { self, topic, configs: await deps.backend.describeTopicConfigs(topic) };
  };
  router.add({ method: "GET", path: base, tag: "Configs", summary: "A topic's configs with their sources and synonyms." }, async (c) => {
    const { self, topic, configs } = await listConfigs(c);
    const data = configs.map((config) => configResource(self, deps, "KafkaTopicConfig", { topic_name: topic }, config));
    return documentResponse(listResource(c, "KafkaTopicConfigList", data), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: `${base}/{name}`, tag: "Configs", summary: "One config of a topic." }, async (c) => {
    const { self, topic, configs } = await listConfigs(c);
    const config = configs.find((entry) => entry.name === c.req.param("name"));
    if (!config) throw new HttpError(404, 404, `Config '${c.req.param("name")}' not found.`);
    return documentResponse(configResource(self, deps, "KafkaTopicConfig", { topic_name: topic }, config), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "PUT", path: `${base}/{name}`, tag: "Configs", summary: "Set one config of a topic: {\"value\": \"…\"}.", requestTypes: ["application/json", "application/cbor"], status: 204 }, async (c) => {
    checkCluster(c, deps);
    const body = await objectBody(c, deps);
    if (typeof body.value !== "string") throw badRequest("value must be a string");
    return alterConfigs(c, deps, c.req.param("topic_name")!, [{ name: c.req.param("name")!, operation: "SET", value: body.value }], false);
  });
  router.add({ method: "DELETE", path: `${base}/{name}`, tag: "Configs", summary: "Reset one config of a topic to its default.", status: 204 }, async (c) => {
    checkCluster(c, deps);
    return alterConfigs(c, deps, c.req.param("topic_name")!, [{ name: c.req.param("name")!, operation: "DELETE", value: null }], false);
  });
  router.add({ method: "POST", path: `${base}:alter`, tag: "Configs", summary: "Change several configs of a topic at once (SET, DELETE, APPEND, SUBTRACT).", requestTypes: ["application/json", "application/cbor"], status: 204 }, async (c) => {
    checkCluster(c, deps);
    const body = await objectBody(c, deps);
    const changes = configList(body.data, "data").map((entry): ConfigChange => {
      const operation = entry.operation === undefined || entry.operation === null ? "SET" : String(entry.operation).toUpperCase();
      if (!operations.has(operation)) throw badRequest(`operation must be SET, DELETE, APPEND or SUBTRACT, was ${JSON.stringify(entry.operation)}`);
      return { name: entry.name, operation: operation as ConfigChange["operation"], value: entry.value };
    });
    return alterConfigs(c, deps, c.req.param("topic_name")!, changes, optionalBoolean(body, "validate_only"));
  });
}

export function registerTopicRoutes(router: Router, deps: HttpDeps): void {
  const base = "/v3/clusters/{cluster_id}/topics";
  router.add({
    method: "GET", path: base, tag: "Topics", summary: "List topics (with include_partitions=true, each with its partition_details).",
    query: [{ name: "include_partitions", in: "query", description: "true: every topic with its partitions' leaders, replicas, offsets and sizes (one request instead of one per topic)", type: "boolean" }],
  }, async (c) => {
    checkCluster(c, deps);
    const withPartitions = boolQuery(c, "include_partitions", false);
    const topics = await deps.backend.listTopics();
    return documentResponse(listResource(c, "KafkaTopicList", topics.map((topic) => topicResource(c, deps, topic, withPartitions))), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "POST", path: base, tag: "Topics", summary: "Create a topic.", requestTypes: ["application/json", "application/cbor"], status: 201 }, (c) => createTopic(c, deps));
  router.add({ method: "GET", path: `${base}/{topic_name}`, tag: "Topics", summary: "Describe a topic: partitions with leaders, replicas and offsets." }, async (c) => {
    checkCluster(c, deps);
    const topic = await topicOf(deps, c.req.param("topic_name")!);
    return documentResponse(topicResource(c, deps, topic, true), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "DELETE", path: `${base}/{topic_name}`, tag: "Topics", summary: "Delete a topic.", status: 204 }, async (c) => {
    checkCluster(c, deps);
    const topic = await topicOf(deps, c.req.param("topic_name")!);
    await deps.backend.deleteTopic(topic.name);
    deps.keyless.forget(topic.name);
    return new Response(null, { status: 204 });
  });
  router.add({ method: "GET", path: `${base}/{topic_name}/partitions`, tag: "Topics", summary: "List a topic's partitions with leaders and offsets." }, async (c) => {
    checkCluster(c, deps);
    const topic = await topicOf(deps, c.req.param("topic_name")!);
    return documentResponse(listResource(c, "KafkaPartitionList", topic.partitions.map((partition) => partitionResource(c, deps, topic, partition))), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: `${base}/{topic_name}/partitions/{partition_id}`, tag: "Topics", summary: "Describe one partition." }, async (c) => {
    checkCluster(c, deps);
    const topic = await topicOf(deps, c.req.param("topic_name")!);
    const partition = topic.partitions[intParam(c, "partition_id")];
    if (!partition) throw partitionNotFound(topic.name, intParam(c, "partition_id"));
    return documentResponse(partitionResource(c, deps, topic, partition), responseFormat(c.req.header("accept")));
  });
  registerConfigRoutes(router, deps);
}
