// Message browser: read a partition (or every partition) from the earliest, the latest, an offset
// or a time; show key, headers, timestamp and value as UTF-8, pretty JSON or hex; follow the log
// live through the API's Server-Sent Events stream; produce a record from a form.

import { api, clusterPath, enc, type ConsumedRecord, type List, type Topic } from "../api.ts";
import { field, h, replace, statusLine } from "../dom.ts";
import { bytesToBase64, formatTime, showBytes, typedBytes, type ShowAs } from "../format.ts";
import { errorText, heading, route, type PageContext } from "../page.ts";

const tailRowsMax = 500;
const readBytes = 256 * 1024;

interface Position {
  from: "earliest" | "latest" | "offset" | "timestamp";
  value: string;
}

function recordRow(record: ConsumedRecord, as: ShowAs): HTMLElement {
  const shown = (bytes: Uint8Array | null) => {
    const result = showBytes(bytes, as);
    if (result === null) return h("span", { class: "muted" }, "null");
    return h("div", null, h("pre", null, result.text), result.note ? h("small", { class: "muted" }, result.note) : null);
  };
  const headers = record.headers.length === 0 ? h("span", { class: "muted" }, "none") : h("ul", { class: "headers" }, record.headers.map((header) => {
    const value = showBytes(header.value === null ? null : typedBytes({ type: "BINARY", data: header.value }), as === "json" ? "utf8" : as);
    return h("li", null, h("code", null, header.name), " = ", value === null ? h("span", { class: "muted" }, "null") : value.text);
  }));
  // data-label: on a phone each record is a card of labelled lines instead of a wide row (style.css).
  return h("tr", { "data-offset": record.offset, "data-partition": record.partition_id },
    h("td", { class: "num", "data-label": "Partition" }, record.partition_id),
    h("td", { class: "num", "data-label": "Offset" }, record.offset),
    h("td", { "data-label": "Timestamp" }, h("span", null, formatTime(record.timestamp), h("br"), h("small", { class: "muted" }, record.timestamp_type))),
    h("td", { "data-label": "Key" }, shown(typedBytes(record.key))),
    h("td", { "data-label": "Headers" }, headers),
    h("td", { class: "value", "data-label": "Value" }, shown(typedBytes(record.value))));
}

export function recordsTable(records: ConsumedRecord[], as: ShowAs): HTMLElement {
  return h("div", { class: "scroll" }, h("table", { class: "records" },
    h("caption", { class: "visually-hidden" }, "Records"),
    h("thead", null, h("tr", null, ["Partition", "Offset", "Timestamp", "Key", "Headers", "Value"].map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", null, records.map((record) => recordRow(record, as)))));
}

export interface ReadAnswer {
  records: ConsumedRecord[];
  next_offset: number;
  high_watermark: number;
  log_start_offset: number;
}

/** Up to `limit` records of one partition from a position (a few reads at most). */
async function readPartition(topic: Topic, partition: number, position: Position, limit: number, signal: AbortSignal): Promise<ConsumedRecord[]> {
  const details = topic.partition_details?.find((entry) => entry.partition_id === partition);
  const base = await clusterPath(`/topics/${enc(topic.topic_name)}/partitions/${partition}/records?key_format=binary&value_format=binary&max_bytes=${readBytes}`);
  let start: string;
  if (position.from === "latest") start = `offset=${Math.max(details?.log_start_offset ?? 0, (details?.high_watermark ?? 0) - limit)}`;
  else if (position.from === "offset") start = `offset=${encodeURIComponent(position.value.trim())}`;
  else if (position.from === "timestamp") start = `timestamp=${encodeURIComponent(new Date(position.value).toISOString())}`;
  else start = "from=earliest";
  const records: ConsumedRecord[] = [];
  for (let reads = 0; reads < 8 && records.length < limit; reads++) {
    const answer = await api<ReadAnswer>(`${base}&${start}`, { signal });
    records.push(...answer.records);
    if (answer.records.length === 0 || answer.next_offset >= answer.high_watermark) break;
    start = `offset=${answer.next_offset}`;
  }
  return records.slice(0, limit);
}

function positionOf(query: URLSearchParams): Position {
  if (query.has("offset")) return { from: "offset", value: query.get("offset")! };
  if (query.has("time")) return { from: "timestamp", value: query.get("time")! };
  return { from: query.get("from") === "latest" ? "latest" : "earliest", value: "" };
}

function produceForm(topic: Topic): HTMLElement {
  const partition = h("select", { name: "partition" }, h("option", { value: "" }, "by key / round robin"), Array.from({ length: topic.partitions_count }, (_, index) => h("option", { value: String(index) }, `partition ${index}`)));
  const key = h("input", { name: "key", autocomplete: "off", placeholder: "(none)" });
  const headers = h("textarea", { name: "headers", rows: "2", placeholder: "trace-id=abc" });
  const valueType = h("select", { name: "type" }, h("option", { value: "STRING" }, "text"), h("option", { value: "JSON" }, "JSON"));
  const value = h("textarea", { name: "value", rows: "4", id: "produce-value" });
  const status = statusLine();
  const form = h("form", { class: "panel", "aria-label": "Produce a record" },
    h("h2", null, "Produce a record"),
    h("div", { class: "row" }, field("Partition", partition), field("Key", key), field("Value type", valueType)),
    field("Headers (name=value, one a line)", headers),
    field("Value", value),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Produce")),
    status.element);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.clear();
    try {
      const data = valueType.value === "JSON" ? JSON.parse(value.value) : value.value;
      const body: Record<string, unknown> = {
        value: { type: valueType.value, data },
        headers: headers.value.split("\n").filter((line) => line.includes("=")).map((line) => {
          const at = line.indexOf("=");
          return { name: line.slice(0, at).trim(), value: bytesToBase64(new TextEncoder().encode(line.slice(at + 1).trim())) };
        }),
      };
      if (key.value !== "") body.key = { type: "STRING", data: key.value };
      if (partition.value !== "") body.partition_id = Number(partition.value);
      const answer = await api<{ partition_id: number; offset: number }>(await clusterPath(`/topics/${enc(topic.topic_name)}/records`), { method: "POST", body });
      status.ok(`Written to partition ${answer.partition_id} at offset ${answer.offset}.`);
    } catch (error) {
      status.error(error instanceof SyntaxError ? `The value is not JSON: ${error.message}` : errorText(error));
    }
  });
  return form;
}

function topicPicker(topics: Topic[], current: string | undefined): HTMLElement {
  const select = h("select", { id: "topic-pick" }, h("option", { value: "" }, "Choose a topic"), topics.filter((topic) => !topic.is_internal).map((topic) => h("option", { value: topic.topic_name, selected: topic.topic_name === current }, topic.topic_name)));
  select.addEventListener("change", () => {
    if (select.value) location.hash = route("messages", select.value);
  });
  return field("Topic", select);
}

export async function messagesPage(context: PageContext): Promise<void> {
  const { root, params, query, signal } = context;
  const name = params[0];
  replace(root, heading("Messages"), h("p", { class: "muted" }, "Loading…"));
  let topics: Topic[];
  try {
    topics = (await api<List<Topic>>(await clusterPath("/topics?include_partitions=true"), { signal })).data;
  } catch (error) {
    return replace(root, heading("Messages"), h("p", { class: "status error" }, errorText(error)));
  }
  const topic = topics.find((entry) => entry.topic_name === name);
  if (!topic) {
    return replace(root, heading("Messages"), h("div", { class: "panel" }, topicPicker(topics, undefined), name ? h("p", { class: "status error" }, `Topic '${name}' not found.`) : null));
  }
  browser(context, topics, topic, positionOf(query));
}

function browser({ root, query, signal }: PageContext, topics: Topic[], topic: Topic, initial: Position): void {
  const partition = h("select", { id: "partition-pick" }, h("option", { value: "all" }, "all partitions"), Array.from({ length: topic.partitions_count }, (_, index) => h("option", { value: String(index), selected: query.get("partition") === String(index) }, `partition ${index}`)));
  const from = h("select", { id: "from-pick" }, (["earliest", "latest", "offset", "timestamp"] as const).map((kind) => h("option", { value: kind, selected: kind === initial.from }, kind === "timestamp" ? "time" : kind)));
  const at = h("input", { id: "at", value: initial.value, placeholder: "offset, or 2026-01-31T12:00:00Z", autocomplete: "off" });
  const limit = h("input", { id: "limit", type: "number", min: "1", max: "1000", value: "50" });
  const view = h("select", { id: "view-as" }, h("option", { value: "utf8" }, "UTF-8"), h("option", { value: "json" }, "JSON (pretty)"), h("option", { value: "hex" }, "hex"));
  const tailButton = h("button", { type: "button", id: "tail-toggle", class: "ghost", "aria-pressed": "false" }, "Start live tail");
  const status = statusLine();
  const output = h("section", { id: "records", "aria-label": "Records", "aria-live": "polite" });
  let shown: ConsumedRecord[] = [];
  let source: EventSource | null = null;
  const draw = () => replace(output, shown.length === 0 ? h("p", { class: "muted" }, "No records.") : recordsTable(shown, view.value as ShowAs));

  const read = async () => {
    stopTail();
    status.clear();
    const position: Position = { from: from.value as Position["from"], value: at.value };
    const partitions = partition.value === "all" ? Array.from({ length: topic.partitions_count }, (_, index) => index) : [Number(partition.value)];
    try {
      const count = Math.max(1, Math.min(1000, Number(limit.value) || 50));
      const lists = await Promise.all(partitions.slice(0, 64).map((index) => readPartition(topic, index, position, count, signal)));
      shown = lists.flat().sort((a, b) => a.timestamp - b.timestamp || a.partition_id - b.partition_id || a.offset - b.offset).slice(0, count);
      draw();
      status.ok(`${shown.length} record(s).`);
    } catch (error) {
      status.error(errorText(error));
    }
  };

  const stopTail = () => {
    source?.close();
    source = null;
    tailButton.textContent = "Start live tail";
    tailButton.setAttribute("aria-pressed", "false");
  };
  const startTail = async () => {
    const path = partition.value === "all" ? `/topics/${enc(topic.topic_name)}/stream` : `/topics/${enc(topic.topic_name)}/partitions/${partition.value}/stream`;
    source = new EventSource(await clusterPath(`${path}?from=latest&key_format=binary&value_format=binary`));
    shown = [];
    draw();
    tailButton.textContent = "Stop live tail";
    tailButton.setAttribute("aria-pressed", "true");
    status.ok("Live tail: connecting…");
    source.onopen = () => status.ok("Live tail: following new records.");
    source.onerror = () => status.error("Live tail: connection lost, reconnecting…");
    source.addEventListener("record", (event) => {
      shown.push(JSON.parse((event as MessageEvent).data) as ConsumedRecord);
      if (shown.length > tailRowsMax) shown.shift();
      draw();
    });
  };
  tailButton.addEventListener("click", () => (source ? stopTail() : void startTail()));
  view.addEventListener("change", draw);
  signal.addEventListener("abort", stopTail);

  const form = h("form", { class: "panel", "aria-label": "Read records" },
    h("div", { class: "row" }, topicPicker(topics, topic.topic_name), field("Partition", partition), field("From", from), field("Offset or time", at), field("Records", limit), field("Show values as", view)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "read" }, "Read"), tailButton),
    status.element);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void read();
  });
  replace(root, heading(`Messages in ${topic.topic_name}`, h("a", { href: route("topics", topic.topic_name), class: "button ghost" }, "Topic details")), form, output, produceForm(topic));
  void read();
}
