// One partition (#/topics/NAME/PARTITION): leader, replicas, in-sync replicas, log start offset,
// high watermark, log end offset, size, and its latest records, refreshed every few seconds.

import { api, clusterPath, enc, type Partition } from "../api.ts";
import { h, replace } from "../dom.ts";
import { formatBytes, formatCount } from "../format.ts";
import { every, errorText, heading, route, type PageContext } from "../page.ts";
import { recordsTable, type ReadAnswer } from "./messages.ts";

const latestShown = 10;

function card(label: string, value: string | number): HTMLElement {
  return h("div", { class: "card" }, h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, value));
}

export async function partitionPage({ root, params, signal }: PageContext): Promise<void> {
  const [topic, partitionText] = params as [string, string];
  const details = h("section", { "aria-label": "Partition" }, h("p", { class: "muted" }, "Loading…"));
  const latest = h("section", { "aria-label": "Latest records", id: "records" });
  replace(root,
    heading(`Partition ${topic}-${partitionText}`, h("a", { href: route("topics", topic), class: "button ghost" }, `Topic ${topic}`)),
    details,
    h("h2", null, `Latest ${latestShown} records`),
    latest,
    h("p", null, h("a", { href: `${route("messages", topic)}?partition=${enc(partitionText)}&from=earliest` }, "Browse from the start, or follow it live")));
  every(3000, signal, async () => {
    try {
      const partition = await api<Partition>(await clusterPath(`/topics/${enc(topic)}/partitions/${enc(partitionText)}`), { signal });
      const from = Math.max(partition.log_start_offset, partition.high_watermark - latestShown);
      const read = partition.high_watermark > partition.log_start_offset
        ? await api<ReadAnswer>(await clusterPath(`/topics/${enc(topic)}/partitions/${partition.partition_id}/records?offset=${from}&key_format=binary&value_format=binary&max_bytes=65536`), { signal })
        : null;
      if (signal.aborted) return;
      replace(details, h("div", { class: "cards" },
        card("Leader", partition.leader_id < 0 ? "offline" : `broker ${partition.leader_id}`),
        card("Replicas", partition.replica_ids.join(", ")),
        card("In sync", partition.isr_ids.join(", ") || "none"),
        card("Log start", formatCount(partition.log_start_offset)),
        card("High watermark", formatCount(partition.high_watermark)),
        card("Log end", formatCount(partition.log_end_offset)),
        card("Records", formatCount(partition.high_watermark - partition.log_start_offset)),
        card("Size", formatBytes(partition.size_bytes))));
      const records = (read?.records ?? []).slice(-latestShown);
      replace(latest, records.length === 0 ? h("p", { class: "muted" }, "No records.") : recordsTable(records, "utf8"));
    } catch (error) {
      if (!signal.aborted) replace(details, h("p", { class: "status error" }, errorText(error)));
    }
  });
}
