// Consumer groups: the list with state and total lag.

import { api, clusterPath, enc, type Group, type List } from "../api.ts";
import { dataTable, h, replace } from "../dom.ts";
import { formatCount } from "../format.ts";
import { every, errorText, heading, route, type PageContext } from "../page.ts";

interface Row extends Group {
  totalLag: number | null;
}

export async function groupsPage({ root, signal }: PageContext): Promise<void> {
  const listBox = h("section", { "aria-label": "Consumer group list" }, h("p", { class: "muted" }, "Loading…"));
  replace(root, heading("Consumer groups"), listBox);
  every(5000, signal, async () => {
    try {
      const groups = (await api<List<Group>>(await clusterPath("/consumer-groups"), { signal })).data;
      const rows: Row[] = await Promise.all(groups.map(async (group) => {
        const summary = await api<{ total_lag: number }>(await clusterPath(`/consumer-groups/${enc(group.consumer_group_id)}/lag-summary`), { signal }).catch(() => null);
        return { ...group, totalLag: summary?.total_lag ?? null };
      }));
      if (signal.aborted) return;
      replace(listBox, dataTable("Consumer groups", [
        { label: "Group", cell: (row: Row) => h("a", { href: route("groups", row.consumer_group_id) }, row.consumer_group_id) },
        { label: "State", cell: (row) => h("span", { class: `state state-${row.state.toLowerCase()}` }, row.state) },
        { label: "Assignor", cell: (row) => row.partition_assignor || "–" },
        { label: "Total lag", cell: (row) => (row.totalLag === null ? "–" : formatCount(row.totalLag)), numeric: true },
      ], rows.sort((a, b) => a.consumer_group_id.localeCompare(b.consumer_group_id)), "No consumer groups yet."));
    } catch (error) {
      if (!signal.aborted) replace(listBox, h("p", { class: "status error" }, errorText(error)));
    }
  });
}
