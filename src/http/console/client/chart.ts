// A small SVG line chart of time series (the live graphs): a few horizontal grid lines with
// labels, one polyline per series, a legend with each series' latest value. Sized by its viewBox,
// so it scales with the page (phones included); colours come from CSS classes (.series-0, …).

import { h, svg, type Child } from "./dom.ts";

export interface Series {
  label: string;
  points: { timeMs: number; value: number | null }[];
}

const width = 640;
const height = 200;
const left = 64;
const right = 8;
const top = 10;
const bottom = 22;

/** The top of the scale: four grid steps of 1, 2 or 5 × a power of ten, at or above `value`. */
function niceMax(value: number): number {
  const rough = Math.max(value, Number.MIN_VALUE) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= rough) return 4 * step * power;
  return 40 * power;
}

/** The time span shown: from the oldest point (at least a minute, at most `maxMs`), so a fresh console is not one sliver at the right edge. */
export function spanOf(oldestMs: number | undefined, maxMs: number, now = Date.now()): number {
  const minute = 60 * 1000;
  if (oldestMs === undefined) return minute;
  return Math.min(maxMs, Math.max(minute, Math.ceil((now - oldestMs) / minute) * minute));
}

/** `floor`: the smallest top of the scale (an idle broker shows a flat line at 0, not noise blown up). */
export function lineChart(title: string, series: Series[], format: (value: number) => string, spanMs: number, floor = 1): HTMLElement {
  const now = Date.now();
  const values = series.flatMap((entry) => entry.points.map((point) => point.value ?? 0));
  const max = niceMax(Math.max(floor, ...values));
  const x = (timeMs: number) => left + ((timeMs - (now - spanMs)) / spanMs) * (width - left - right);
  const y = (value: number) => top + (1 - value / max) * (height - top - bottom);
  const grid: Child[] = [];
  for (let step = 0; step <= 4; step++) {
    const value = (max * step) / 4;
    grid.push(svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }));
    grid.push(svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "axis" }, format(value)));
  }
  grid.push(svg("text", { x: left, y: height - 6, class: "axis" }, `−${Math.round(spanMs / 60000)} min`));
  grid.push(svg("text", { x: width - right, y: height - 6, "text-anchor": "end", class: "axis" }, "now"));
  const lines = series.map((entry, index) => {
    const visible = entry.points.filter((point) => point.timeMs >= now - spanMs && point.value !== null);
    return svg("polyline", { class: `line series-${index}`, points: visible.map((point) => `${x(point.timeMs).toFixed(1)},${y(point.value!).toFixed(1)}`).join(" ") });
  });
  const latest = (entry: Series) => {
    const last = [...entry.points].reverse().find((point) => point.value !== null);
    return last ? format(last.value!) : "–";
  };
  const summary = series.map((entry) => `${entry.label}: ${latest(entry)}`).join("; ");
  return h("figure", { class: "chart" },
    h("figcaption", null, title),
    svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}. Latest: ${summary}` }, grid, lines),
    h("ul", { class: "legend" }, series.map((entry, index) => h("li", { class: `series-${index}` }, h("span", { class: "swatch", "aria-hidden": "true" }), `${entry.label}: `, h("strong", null, latest(entry))))));
}
