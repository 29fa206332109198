// One topic: its partitions (leader, replicas, ISR, offsets, size), its configs with their sources
// (change or reset one, after a validation and a confirmation), and deletion (confirmed by typing
// the topic's name).

import { api, clusterPath, enc, type Config, type List, type Partition, type Topic } from "../api.ts";
import { confirmDialog, dataTable, field, h, replace, statusLine } from "../dom.ts";
import { formatBytes, formatCount } from "../format.ts";
import { errorText, heading, route, type PageContext } from "../page.ts";
import { partitionPage } from "./partition.ts";

function partitionsTable(topic: Topic): HTMLElement {
  return dataTable("Partitions", [
    { label: "Partition", cell: (partition: Partition) => h("a", { href: route("topics", topic.topic_name, partition.partition_id) }, partition.partition_id), numeric: true },
    { label: "Leader", cell: (partition) => (partition.leader_id < 0 ? "offline" : partition.leader_id), numeric: true },
    { label: "Replicas", cell: (partition) => partition.replica_ids.join(", ") },
    { label: "In sync", cell: (partition) => partition.isr_ids.join(", ") },
    { label: "Log start", cell: (partition) => formatCount(partition.log_start_offset), numeric: true },
    { label: "High watermark", cell: (partition) => formatCount(partition.high_watermark), numeric: true },
    { label: "Log end", cell: (partition) => formatCount(partition.log_end_offset), numeric: true },
    { label: "Size", cell: (partition) => formatBytes(partition.size_bytes), numeric: true },
    { label: "", cell: (partition) => h("a", { href: `${route("messages", topic.topic_name)}?partition=${partition.partition_id}&from=earliest` }, "Browse") },
  ], topic.partition_details ?? []);
}

async function alter(topic: string, changes: { name: string; value: string | null; operation: "SET" | "DELETE" }[], validateOnly: boolean): Promise<void> {
  await api(await clusterPath(`/topics/${enc(topic)}/configs:alter`), { method: "POST", body: { data: changes, validate_only: validateOnly } });
}

function configsTable(configs: Config[], editor: (config: Config) => HTMLElement): HTMLElement {
  return dataTable("Configs", [
    { label: "Name", cell: (config: Config) => h("span", { title: config.documentation ?? "" }, config.name) },
    { label: "Value", cell: (config) => (config.is_sensitive ? "(sensitive)" : config.value ?? "null") },
    { label: "Source", cell: (config) => config.source },
    { label: "Change", cell: editor },
  ], configs);
}

/** The configs with a way to change each; after a change only the table is drawn again (the status line stays). */
function configsSection(topic: string, configs: Config[]): HTMLElement {
  const status = statusLine();
  const tableBox = h("div");
  const redraw = async () => {
    const fresh = await api<List<Config>>(await clusterPath(`/topics/${enc(topic)}/configs`));
    replace(tableBox, configsTable(fresh.data, editor));
  };
  const change = async (config: Config, value: string | null) => {
    status.clear();
    const operation = value === null ? "DELETE" : "SET";
    try {
      await alter(topic, [{ name: config.name, value, operation }], true); // refused values never reach the dialog
      const what = value === null ? `Reset ${config.name} of ${topic} to its default?` : `Set ${config.name} of ${topic} to ${value}?`;
      const ok = await confirmDialog("Change a topic config", h("p", null, what, h("br"), h("small", { class: "muted" }, `Now: ${config.value ?? "null"} (${config.source}). It applies at once to every partition.`)), value === null ? "Reset" : "Apply");
      if (!ok) return status.ok("Nothing changed.");
      await alter(topic, [{ name: config.name, value, operation }], false);
      await redraw();
      status.ok(value === null ? `${config.name} reset to its default.` : `${config.name} set to ${value}.`);
    } catch (error) {
      status.error(errorText(error));
    }
  };
  function editor(config: Config): HTMLElement {
    if (config.is_read_only) return h("span", { class: "muted" }, "read-only");
    const input = h("input", { value: config.value ?? "", "aria-label": `New value of ${config.name}`, size: "14" });
    return h("form", { class: "inline-form", onsubmit: (event: Event) => { event.preventDefault(); void change(config, input.value); } },
      input,
      h("button", { type: "submit", class: "ghost" }, "Set"),
      config.is_default ? null : h("button", { type: "button", class: "ghost", onclick: () => void change(config, null) }, "Reset"));
  }
  replace(tableBox, configsTable(configs, editor));
  return h("section", { "aria-label": "Configs" }, h("h2", null, "Configs"), status.element, tableBox);
}

function deleteSection(topic: string): HTMLElement {
  const status = statusLine();
  const remove = async () => {
    const typed = h("input", { "aria-label": "Topic name", autocomplete: "off" });
    const ok = await confirmDialog("Delete a topic", h("div", null, h("p", null, "Every record of ", h("strong", null, topic), " is deleted. This cannot be undone."), field(`Type ${topic} to confirm`, typed)), "Delete topic", true);
    if (!ok) return;
    if (typed.value !== topic) return status.error("The name typed did not match: nothing deleted.");
    try {
      await api(await clusterPath(`/topics/${enc(topic)}`), { method: "DELETE" });
      location.hash = route("topics");
    } catch (error) {
      status.error(errorText(error));
    }
  };
  return h("section", { class: "panel danger-zone", "aria-label": "Delete" }, h("h2", null, "Delete this topic"), h("button", { type: "button", class: "danger", onclick: () => void remove() }, "Delete topic…"), status.element);
}

export async function topicPage(context: PageContext): Promise<void> {
  const { root, params, signal } = context;
  const name = params[0]!;
  if (params[1] !== undefined) return partitionPage(context);
  replace(root, heading(`Topic ${name}`), h("p", { class: "muted" }, "Loading…"));
  try {
    const [topic, configs] = await Promise.all([
      api<Topic>(await clusterPath(`/topics/${enc(name)}`), { signal }),
      api<List<Config>>(await clusterPath(`/topics/${enc(name)}/configs`), { signal }),
    ]);
    if (signal.aborted) return;
    replace(root,
      heading(`Topic ${name}`, h("a", { href: route("messages", name), class: "button ghost" }, "Browse messages")),
      h("p", { class: "muted" }, `${topic.partitions_count} partition(s), replication factor ${topic.replication_factor}${topic.is_internal ? ", internal" : ""}.`),
      h("h2", null, "Partitions"),
      partitionsTable(topic),
      configsSection(name, configs.data),
      topic.is_internal ? null : deleteSection(name));
  } catch (error) {
    if (!signal.aborted) replace(root, heading(`Topic ${name}`), h("p", { class: "status error" }, errorText(error)), h("a", { href: route("topics") }, "All topics"));
  }
}
