// Topics: the list (partitions, replication, size, records, offsets) and a form to create one.

import { api, clusterPath, enc, type Config, type List, type Topic } from "../api.ts";
import { dataTable, field, h, replace, statusLine } from "../dom.ts";
import { formatBytes, formatCount } from "../format.ts";
import { errorText, heading, route, type PageContext } from "../page.ts";

function sum(topic: Topic, pick: (partition: NonNullable<Topic["partition_details"]>[number]) => number): number {
  return (topic.partition_details ?? []).reduce((total, partition) => total + pick(partition), 0);
}

/** Topics listed with their config overrides fetched too (one request each); past this, a link instead. */
const overridesListedMax = 200;

/** The configs a topic sets itself (not inherited from the broker or the defaults), as name=value. */
async function overridesOf(topics: Topic[], signal: AbortSignal): Promise<Map<string, string[]> | null> {
  if (topics.length > overridesListedMax) return null;
  const entries = await Promise.all(topics.map(async (topic) => {
    const configs = await api<List<Config>>(await clusterPath(`/topics/${enc(topic.topic_name)}/configs`), { signal }).catch(() => null);
    const overrides = (configs?.data ?? []).filter((config) => config.source === "DYNAMIC_TOPIC_CONFIG").map((config) => `${config.name}=${config.is_sensitive ? "…" : config.value}`);
    return [topic.topic_name, overrides] as const;
  }));
  return new Map(entries);
}

function topicsTable(topics: Topic[], overrides: Map<string, string[]> | null): HTMLElement {
  return dataTable("Topics", [
    { label: "Topic", cell: (topic: Topic) => h("a", { href: route("topics", topic.topic_name) }, topic.topic_name) },
    { label: "Partitions", cell: (topic) => topic.partitions_count, numeric: true },
    { label: "Replication", cell: (topic) => topic.replication_factor, numeric: true },
    { label: "Size", cell: (topic) => formatBytes(sum(topic, (partition) => partition.size_bytes)), numeric: true },
    { label: "Records", cell: (topic) => formatCount(sum(topic, (partition) => partition.high_watermark - partition.log_start_offset)), numeric: true },
    { label: "Start offsets (sum)", cell: (topic) => formatCount(sum(topic, (partition) => partition.log_start_offset)), numeric: true },
    { label: "End offsets (sum)", cell: (topic) => formatCount(sum(topic, (partition) => partition.log_end_offset)), numeric: true },
    { label: "Config overrides", cell: (topic) => {
      const list = overrides?.get(topic.topic_name);
      if (list === undefined) return h("a", { href: route("topics", topic.topic_name) }, "see topic");
      return list.length === 0 ? h("span", { class: "muted" }, "none") : h("ul", { class: "chips" }, list.map((entry) => h("li", null, h("code", null, entry))));
    } },
    { label: "", cell: (topic) => h("a", { href: `${route("messages", topic.topic_name)}` }, "Browse") },
  ], topics, "No topics yet.");
}

/** "key=value" lines → the configs of a create request. */
export function parseConfigLines(text: string): { name: string; value: string }[] {
  return text.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#")).map((line) => {
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`"${line}" is not key=value`);
    return { name: line.slice(0, at).trim(), value: line.slice(at + 1).trim() };
  });
}

function createForm(onCreated: () => void): HTMLElement {
  const name = h("input", { name: "topic", required: true, pattern: "[a-zA-Z0-9._\\-]{1,249}", autocomplete: "off" });
  const partitions = h("input", { name: "partitions", type: "number", min: "1", max: "10000", value: "1", required: true });
  const configs = h("textarea", { name: "configs", rows: "3", placeholder: "retention.ms=86400000\ncleanup.policy=compact" });
  const status = statusLine();
  const submit = async (validateOnly: boolean) => {
    status.clear();
    try {
      const body = { topic_name: name.value.trim(), partitions_count: Number(partitions.value), configs: parseConfigLines(configs.value), validate_only: validateOnly };
      await api(await clusterPath("/topics"), { method: "POST", body });
      if (validateOnly) status.ok(`Valid: topic ${body.topic_name} with ${body.partitions_count} partition(s) can be created.`);
      else {
        status.ok(`Created topic ${body.topic_name}.`);
        name.value = "";
        onCreated();
      }
    } catch (error) {
      status.error(errorText(error));
    }
  };
  const form = h("form", { class: "panel", "aria-label": "Create a topic" },
    h("h2", null, "Create a topic"),
    h("div", { class: "row" }, field("Name", name), field("Partitions", partitions)),
    field("Configs (key=value, one a line)", configs),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "ghost", onclick: () => void submit(true) }, "Validate"),
      h("button", { type: "submit", class: "primary" }, "Create topic")),
    status.element);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void submit(false);
  });
  return form;
}

export async function topicsPage({ root, signal, query }: PageContext): Promise<void> {
  const showInternal = h("input", { type: "checkbox", id: "show-internal", checked: query.get("internal") === "1" });
  const listBox = h("section", { "aria-label": "Topic list" }, h("p", { class: "muted" }, "Loading…"));
  const refresh = async () => {
    try {
      const topics = (await api<List<Topic>>(await clusterPath("/topics?include_partitions=true"), { signal })).data;
      const shown = topics.filter((topic) => showInternal.checked || !topic.is_internal);
      const overrides = await overridesOf(shown, signal);
      if (!signal.aborted) replace(listBox, topicsTable(shown, overrides));
    } catch (error) {
      if (!signal.aborted) replace(listBox, h("p", { class: "status error" }, errorText(error)));
    }
  };
  showInternal.addEventListener("change", () => void refresh());
  replace(root,
    heading("Topics", h("label", { class: "inline" }, showInternal, " Show internal topics")),
    listBox,
    createForm(() => void refresh()));
  await refresh();
}
