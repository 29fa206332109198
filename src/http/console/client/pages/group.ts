// One consumer group: state, members and their assignments, committed offset and lag per partition,
// total lag over time (from /metrics, sampled since the console opened), and resetting offsets:
// always a dry run first, then the same plan executed after a confirmation.

import { api, clusterPath, enc, type Group, type Lag, type List, type Member } from "../api.ts";
import { lineChart, spanOf } from "../chart.ts";
import { confirmDialog, dataTable, field, h, replace, statusLine } from "../dom.ts";
import { formatCount } from "../format.ts";
import { every, errorText, heading, type PageContext } from "../page.ts";
import { sampler } from "../sampler.ts";

interface PlannedOffset {
  topic_name: string;
  partition_id: number;
  current_offset: number | null;
  new_offset: number;
}

function membersTable(members: Member[]): HTMLElement {
  return dataTable("Members", [
    { label: "Member", cell: (member: Member) => h("code", null, member.consumer_id) },
    { label: "Client", cell: (member) => member.client_id },
    { label: "Host", cell: (member) => member.host },
    { label: "Assigned partitions", cell: (member) => member.assignments.map((entry) => `${entry.topic_name}-${entry.partition_id}`).join(", ") || "none" },
  ], members, "No members: the group is empty.");
}

function lagsTable(lags: Lag[]): HTMLElement {
  return h("div", { id: "lags" }, dataTable("Lag per partition", [
    { label: "Topic", cell: (lag: Lag) => lag.topic_name },
    { label: "Partition", cell: (lag) => lag.partition_id, numeric: true },
    { label: "Committed offset", cell: (lag) => formatCount(lag.current_offset), numeric: true },
    { label: "Log end offset", cell: (lag) => formatCount(lag.log_end_offset), numeric: true },
    { label: "Lag", cell: (lag) => h("span", { "data-lag": `${lag.topic_name}/${lag.partition_id}` }, formatCount(lag.lag)), numeric: true },
    { label: "Owner", cell: (lag) => lag.client_id || lag.consumer_id || "–" },
  ], lags.sort((a, b) => a.topic_name.localeCompare(b.topic_name) || a.partition_id - b.partition_id), "No committed offsets."));
}

function lagChart(groupId: string): HTMLElement {
  const history = sampler.lagHistory.get(groupId) ?? [];
  return lineChart(`Total lag of ${groupId}`, [{ label: "Lag", points: history.map((point) => ({ timeMs: point.timeMs, value: point.lag })) }], (value) => formatCount(value), spanOf(history[0]?.timeMs, 5 * 60 * 1000), 4);
}

function resetForm(groupId: string, reload: () => void): HTMLElement {
  const topic = h("input", { id: "reset-topic", placeholder: "every committed partition", autocomplete: "off" });
  const to = h("select", { id: "reset-to" }, ["earliest", "latest", "offset", "timestamp", "shift"].map((kind) => h("option", { value: kind }, kind)));
  const value = h("input", { id: "reset-value", placeholder: "offset, time or ±N", autocomplete: "off" });
  const plan = h("div", { id: "reset-plan" });
  const status = statusLine();
  const apply = h("button", { type: "button", class: "danger", id: "reset-apply", disabled: true }, "Apply this plan…");
  let planned: Record<string, unknown> | null = null;
  const request = (): Record<string, unknown> => {
    const body: Record<string, unknown> = { to: to.value };
    if (to.value === "offset") body.offset = value.value.trim();
    if (to.value === "timestamp") body.timestamp = value.value.trim();
    if (to.value === "shift") body.shift_by = value.value.trim();
    if (topic.value.trim() !== "") body.topics = [{ topic_name: topic.value.trim() }];
    return body;
  };
  const send = async (body: Record<string, unknown>, execute: boolean) =>
    api<{ data: PlannedOffset[] }>(await clusterPath(`/consumer-groups/${enc(groupId)}/offsets:reset`), { method: "POST", body: { ...body, execute } });
  const showPlan = (rows: PlannedOffset[]) => replace(plan, dataTable("Planned offsets", [
    { label: "Topic", cell: (row: PlannedOffset) => row.topic_name },
    { label: "Partition", cell: (row) => row.partition_id, numeric: true },
    { label: "Current", cell: (row) => (row.current_offset === null ? "none" : formatCount(row.current_offset)), numeric: true },
    { label: "New", cell: (row) => formatCount(row.new_offset), numeric: true },
  ], rows));
  const invalidate = () => {
    planned = null;
    apply.disabled = true;
    replace(plan);
  };
  for (const control of [topic, to, value]) control.addEventListener("input", invalidate);
  const form = h("form", { class: "panel", "aria-label": "Reset offsets" },
    h("h2", null, "Reset offsets"),
    h("p", { class: "muted" }, "A dry run shows the plan; applying it needs a group without members (stop its consumers first)."),
    h("div", { class: "row" }, field("Topic", topic), field("To", to), field("Value", value)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "reset-dry-run" }, "Dry run"), apply),
    plan, status.element);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.clear();
    try {
      const body = request();
      showPlan((await send(body, false)).data);
      planned = body;
      apply.disabled = false;
      status.ok("Dry run: nothing changed yet.");
    } catch (error) {
      invalidate();
      status.error(errorText(error));
    }
  });
  apply.addEventListener("click", async () => {
    if (!planned) return;
    const ok = await confirmDialog("Reset committed offsets", h("p", null, `Commit the planned offsets for group ${groupId}? Its consumers will resume from them.`), "Reset offsets", true);
    if (!ok) return;
    try {
      showPlan((await send(planned, true)).data);
      status.ok("Offsets reset.");
      apply.disabled = true;
      reload();
    } catch (error) {
      status.error(errorText(error));
    }
  });
  return form;
}

export async function groupPage({ root, params, signal }: PageContext): Promise<void> {
  const groupId = params[0]!;
  const details = h("section", { "aria-label": "Group" }, h("p", { class: "muted" }, "Loading…"));
  const chartBox = h("section", { "aria-label": "Lag over time", class: "charts" }, lagChart(groupId));
  let refresh = () => {};
  replace(root, heading(`Consumer group ${groupId}`), details, h("h2", null, "Lag over time"), chartBox, resetForm(groupId, () => refresh()));
  const unsubscribe = sampler.subscribe(() => replace(chartBox, lagChart(groupId)));
  signal.addEventListener("abort", unsubscribe);
  const load = async () => {
    try {
      const base = await clusterPath(`/consumer-groups/${enc(groupId)}`);
      const [group, members, lags] = await Promise.all([
        api<Group>(base, { signal }),
        api<List<Member>>(`${base}/consumers`, { signal }),
        api<List<Lag>>(`${base}/lags`, { signal }),
      ]);
      if (signal.aborted) return;
      const total = lags.data.reduce((sum, lag) => sum + lag.lag, 0);
      replace(details,
        h("div", { class: "cards" },
          h("div", { class: "card" }, h("div", { class: "card-label" }, "State"), h("div", { class: "card-value", id: "group-state" }, group.state)),
          h("div", { class: "card" }, h("div", { class: "card-label" }, "Members"), h("div", { class: "card-value" }, members.data.length)),
          h("div", { class: "card" }, h("div", { class: "card-label" }, "Assignor"), h("div", { class: "card-value" }, group.partition_assignor || "–")),
          h("div", { class: "card" }, h("div", { class: "card-label" }, "Total lag"), h("div", { class: "card-value", id: "total-lag" }, formatCount(total)))),
        h("h2", null, "Members"), membersTable(members.data),
        h("h2", null, "Committed offsets and lag"), lagsTable(lags.data));
    } catch (error) {
      if (!signal.aborted) replace(details, h("p", { class: "status error" }, errorText(error)));
    }
  };
  refresh = () => void load();
  every(3000, signal, load);
}
