// Operations: GET /healthz (the process answers), GET /readyz (ready to serve: logs recovered and
// every listener up; 503 before and while shutting down), GET /health (the older summary, kept),
// GET /metrics (Prometheus text format 0.0.4: requests and latency per Kafka API and HTTP route,
// bytes in/out per topic, log offsets per partition, lag per group, open connections and streams,
// process memory). Gauges are read when scraped, from the backend; nothing is polled meanwhile.

import type { GaugeSample } from "../../util/metrics.ts";
import type { HttpBackend } from "../backend.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { responseFormat } from "../encoding.ts";

/** Lag per group and partition, from the backend (synchronous snapshot for the scrape). */
export interface LagSnapshot {
  group: string;
  topic: string;
  partition: number;
  lag: bigint;
}

function registerGauges(deps: HttpDeps, lags: () => LagSnapshot[]): void {
  const registry = deps.metrics.registry;
  const backend: HttpBackend = deps.backend;
  const partitionGauge = (name: string, help: string, pick: (entry: ReturnType<HttpBackend["partitionMetrics"]>[number]) => bigint | number) =>
    registry.gauge(name, help, ["topic", "partition"], function* (): Iterable<GaugeSample> {
      for (const entry of backend.partitionMetrics()) yield { labels: { topic: entry.topic, partition: String(entry.partition) }, value: pick(entry) };
    });
  partitionGauge("runnel_partition_log_end_offset", "Next offset to be assigned in the partition.", (entry) => entry.logEndOffset);
  partitionGauge("runnel_partition_high_watermark", "First offset not yet readable by consumers.", (entry) => entry.highWatermark);
  partitionGauge("runnel_partition_log_start_offset", "First offset still in the partition's log.", (entry) => entry.logStartOffset);
  partitionGauge("runnel_partition_size_bytes", "Bytes of the partition's segments.", (entry) => entry.sizeBytes);
  // Replication, with the names Kafka's JMX exporter gives its MBeans: UnderReplicatedPartitions
  // counts the partitions this broker leads whose ISR is smaller than their replica set (as
  // kafka.server:ReplicaManager); OfflinePartitionsCount the partitions without a leader (Kafka's
  // active controller reports it; every node here, from its metadata image); InSyncReplicasCount
  // and ReplicasCount per partition this broker leads (kafka.cluster:Partition).
  registry.gauge("kafka_server_replicamanager_underreplicatedpartitions", "Partitions led by this broker whose ISR is smaller than their replica set (UnderReplicatedPartitions).", [], () => {
    let count = 0;
    for (const state of backend.partitionStates()) if (state.leader === deps.nodeId && state.isr < state.replicas) count++;
    return [{ labels: {}, value: count }];
  });
  registry.gauge("kafka_controller_kafkacontroller_offlinepartitionscount", "Partitions without a leader (OfflinePartitionsCount).", [], () => {
    let count = 0;
    for (const state of backend.partitionStates()) if (state.leader < 0) count++;
    return [{ labels: {}, value: count }];
  });
  const ledPartitionGauge = (name: string, help: string, pick: (state: ReturnType<HttpBackend["partitionStates"]>[number]) => number) =>
    registry.gauge(name, help, ["topic", "partition"], function* (): Iterable<GaugeSample> {
      for (const state of backend.partitionStates()) {
        if (state.leader === deps.nodeId) yield { labels: { topic: state.topic, partition: String(state.partition) }, value: pick(state) };
      }
    });
  ledPartitionGauge("kafka_cluster_partition_insyncreplicascount", "In-sync replicas of a partition this broker leads (InSyncReplicasCount).", (state) => state.isr);
  ledPartitionGauge("kafka_cluster_partition_replicascount", "Replicas of a partition this broker leads (ReplicasCount).", (state) => state.replicas);
  ledPartitionGauge("kafka_cluster_partition_underreplicated", "1 when a partition this broker leads has fewer in-sync replicas than replicas (UnderReplicated).", (state) => (state.isr < state.replicas ? 1 : 0));
  registry.gauge("runnel_consumer_group_lag", "High watermark minus committed offset, per group and partition.", ["group", "topic", "partition"], function* () {
    for (const entry of lags()) yield { labels: { group: entry.group, topic: entry.topic, partition: String(entry.partition) }, value: entry.lag };
  });
  registry.gauge("runnel_kafka_connections_open", "Open Kafka protocol connections.", [], () => [{ labels: {}, value: backend.kafkaConnectionCount() }]);
  registry.gauge("runnel_http_streams_open", "Open HTTP live streams (SSE / NDJSON / CBOR sequence).", [], () => [{ labels: {}, value: deps.streams.count }]);
  registry.gauge("runnel_http_stream_bytes_sent", "Bytes queued to HTTP live streams since start.", [], () => [{ labels: {}, value: deps.streams.bytesSent }]);
  registry.gauge("runnel_http_consumer_instances", "Open HTTP consumer instances.", [], () => [{ labels: {}, value: deps.consumers.count }]);
  registry.gauge("process_resident_memory_bytes", "Resident memory of the broker process.", [], () => [{ labels: {}, value: process.memoryUsage.rss() }]);
  registry.gauge("runnel_process_heap_used_bytes", "JavaScript heap in use.", [], () => [{ labels: {}, value: process.memoryUsage().heapUsed }]);
}

/** Lag of every group's committed partitions, gathered before a scrape is rendered. */
async function collectLags(backend: HttpBackend): Promise<LagSnapshot[]> {
  const snapshot: LagSnapshot[] = [];
  // While the group coordinator is still loading (partitions recovering at start) there is no lag
  // to show; the rest of /metrics is served all the same.
  const groups = await backend.coordinatedGroups().catch(() => []);
  for (const group of groups) {
    for (const lag of await backend.groupLag(group.groupId)) snapshot.push({ group: group.groupId, topic: lag.topic, partition: lag.partition, lag: lag.lag });
  }
  return snapshot;
}

export function registerHealthRoutes(router: Router, deps: HttpDeps, info: { openConnections: () => number }): void {
  let lags: LagSnapshot[] = [];
  registerGauges(deps, () => lags);
  deps.metrics.registry.gauge("runnel_http_requests_in_flight", "HTTP requests being answered (long polls and streams included).", [], () => [{ labels: {}, value: info.openConnections() }]);
  router.add({ method: "GET", path: "/healthz", tag: "Operations", summary: "Alive: the process answers." }, (c) =>
    documentResponse({ status: "ok" }, responseFormat(c.req.header("accept"))));
  router.add({ method: "GET", path: "/readyz", tag: "Operations", summary: "Ready: logs recovered, listeners up, registered and unfenced in the cluster (503 otherwise)." }, (c) => {
    const ready = deps.backend.isReady();
    return documentResponse({ status: ready ? "ready" : "not ready" }, responseFormat(c.req.header("accept")), ready ? 200 : 503);
  });
  router.add({ method: "GET", path: "/health", tag: "Operations", summary: "Summary: node id, cluster id, topic count." }, async (c) => {
    const topics = await deps.backend.listTopics();
    return documentResponse({ status: "ok", nodeId: deps.nodeId, clusterId: deps.clusterId, topics: topics.length }, responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: "/metrics", tag: "Operations", summary: "Prometheus metrics (text exposition format 0.0.4).", responseTypes: ["text/plain"] }, async () => {
    lags = await collectLags(deps.backend);
    return new Response(deps.metrics.registry.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
  });
}

