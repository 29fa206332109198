// Overview: brokers (controller, leaders held), topic and partition counts, under-replicated and
// offline partitions, and live graphs of bytes in/out per second and produce/fetch p99 from the
// broker's /metrics.

import { api, clusterPath, type Broker, type List, type Topic } from "../api.ts";
import { lineChart, spanOf } from "../chart.ts";
import { dataTable, h, replace } from "../dom.ts";
import { formatCount, formatMs, formatRate } from "../format.ts";
import { every, errorText, heading, type PageContext } from "../page.ts";
import { sampler } from "../sampler.ts";

const spanMs = 5 * 60 * 1000;

interface Summary {
  controllerId: number;
  brokers: Broker[];
  topics: Topic[];
}

async function load(signal: AbortSignal): Promise<Summary> {
  const [cluster, brokers, topics] = await Promise.all([
    api<{ controller: { related: string } }>(await clusterPath(""), { signal }),
    api<List<Broker>>(await clusterPath("/brokers"), { signal }),
    api<List<Topic>>(await clusterPath("/topics?include_partitions=true"), { signal }),
  ]);
  const controllerId = Number(/\/brokers\/(-?\d+)$/.exec(cluster.controller.related)?.[1] ?? -1);
  return { controllerId, brokers: brokers.data, topics: topics.data };
}

function card(label: string, value: string | number, tone?: "warn" | "ok"): HTMLElement {
  return h("div", { class: `card ${tone ?? ""}` }, h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, value));
}

function cards(summary: Summary): HTMLElement {
  const partitions = summary.topics.flatMap((topic) => topic.partition_details ?? []);
  const offline = partitions.filter((partition) => partition.leader_id < 0).length;
  const underReplicated = partitions.filter((partition) => partition.isr_ids.length < partition.replica_ids.length).length;
  const internal = summary.topics.filter((topic) => topic.is_internal).length;
  return h("div", { class: "cards" },
    card("Brokers", summary.brokers.length),
    card("Controller", summary.controllerId >= 0 ? `broker ${summary.controllerId}` : "none", summary.controllerId >= 0 ? "ok" : "warn"),
    card("Topics", `${summary.topics.length - internal} (+${internal} internal)`),
    card("Partitions", formatCount(partitions.length)),
    card("Under-replicated", underReplicated, underReplicated > 0 ? "warn" : "ok"),
    card("Offline", offline, offline > 0 ? "warn" : "ok"));
}

function brokersTable(summary: Summary): HTMLElement {
  const partitions = summary.topics.flatMap((topic) => topic.partition_details ?? []);
  return dataTable("Brokers", [
    { label: "Broker", cell: (broker: Broker) => broker.broker_id, numeric: true },
    { label: "Address", cell: (broker) => `${broker.host}:${broker.port}` },
    { label: "Role", cell: (broker) => (broker.broker_id === summary.controllerId ? "controller" : "broker") },
    { label: "Leaders held", cell: (broker) => formatCount(partitions.filter((partition) => partition.leader_id === broker.broker_id).length), numeric: true },
    { label: "Replicas", cell: (broker) => formatCount(partitions.filter((partition) => partition.replica_ids.includes(broker.broker_id)).length), numeric: true },
  ], summary.brokers, "No broker is registered.");
}

function charts(): HTMLElement {
  const points = sampler.points;
  const span = spanOf(points[0]?.timeMs, spanMs);
  const throughput = lineChart("Bytes per second", [
    { label: "In", points: points.map((point) => ({ timeMs: point.timeMs, value: point.bytesInPerSecond })) },
    { label: "Out", points: points.map((point) => ({ timeMs: point.timeMs, value: point.bytesOutPerSecond })) },
  ], formatRate, span, 1024);
  const latency = lineChart("Request latency p99 (Kafka and HTTP)", [
    { label: "Produce", points: points.map((point) => ({ timeMs: point.timeMs, value: point.produceP99Ms })) },
    { label: "Fetch (includes long-poll waits)", points: points.map((point) => ({ timeMs: point.timeMs, value: point.fetchP99Ms })) },
  ], formatMs, span, 10);
  const note = sampler.lastError ? h("p", { class: "status error" }, `Metrics: ${sampler.lastError}`) : h("p", { class: "muted" }, "From the broker's /metrics: every 2 s while this console is open, every 5 s before (kept by the broker since the console was first opened on it).");
  return h("div", null, h("div", { class: "charts" }, throughput, latency), note);
}

export async function overviewPage({ root, signal }: PageContext): Promise<void> {
  const summaryBox = h("section", { "aria-label": "Cluster" }, h("p", { class: "muted" }, "Loading…"));
  const chartBox = h("section", { "aria-label": "Live graphs" }, charts());
  replace(root, heading("Overview"), summaryBox, h("h2", null, "Throughput and latency"), chartBox);
  const unsubscribe = sampler.subscribe(() => replace(chartBox, charts()));
  signal.addEventListener("abort", unsubscribe);
  every(5000, signal, async () => {
    try {
      const summary = await load(signal);
      if (!signal.aborted) replace(summaryBox, cards(summary), h("h2", null, "Brokers"), brokersTable(summary));
    } catch (error) {
      if (!signal.aborted) replace(summaryBox, h("p", { class: "status error" }, errorText(error)));
    }
  });
}
