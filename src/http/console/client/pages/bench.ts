// Benchmarks: the committed bench/results reports (tables and SVG plots), embedded in the broker
// at build time and served at /ui/bench.json and /ui/bench/{plot}.svg.

import { api } from "../api.ts";
import { h, replace } from "../dom.ts";
import { parseMarkdown, renderMarkdown } from "../markdown.ts";
import { errorText, heading, route, type PageContext } from "../page.ts";

let reports: Promise<Record<string, string>> | undefined;

function titleOf(name: string, text: string): string {
  return /^#\s+(.*)$/m.exec(text)?.[1] ?? name;
}

export async function benchPage({ root, params, signal }: PageContext): Promise<void> {
  replace(root, heading("Benchmarks"), h("p", { class: "muted" }, "Loading…"));
  let files: Record<string, string>;
  try {
    reports ??= api<{ files: Record<string, string> }>("/ui/bench.json").then((answer) => answer.files);
    files = await reports;
  } catch (error) {
    reports = undefined;
    return replace(root, heading("Benchmarks"), h("p", { class: "status error" }, errorText(error)));
  }
  if (signal.aborted) return;
  const names = Object.keys(files).sort((a, b) => Number(b === "summary.md") - Number(a === "summary.md") || a.localeCompare(b)); // the summary first
  const current = params[0] && files[params[0]] !== undefined ? params[0] : names.includes("summary.md") ? "summary.md" : names[0];
  const menu = h("nav", { class: "reports", "aria-label": "Benchmark reports" }, h("ul", null, names.map((name) =>
    h("li", null, h("a", { href: route("bench", name), "aria-current": name === current ? "page" : null }, titleOf(name, files[name]!))))));
  const report = current === undefined ? h("p", null, "No benchmark results are embedded.") : renderMarkdown(parseMarkdown(files[current]!), {
    link: (href) => (files[href] !== undefined ? route("bench", href) : /^https?:\/\//.test(href) ? href : null),
    image: (src) => (/^[\w.-]+\.svg$/.test(src) ? `/ui/bench/${src}` : null),
  });
  replace(root, heading("Benchmarks"), h("p", { class: "muted" }, "The committed results of bun run bench (bench/results), as built into this broker. Every figure comes with a baseline measured in the same run."), h("div", { class: "bench" }, menu, report));
}
