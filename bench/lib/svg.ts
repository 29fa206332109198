// A latency-percentile plot drawn as SVG text by the tool itself (no plotting library).
//
// The x axis is the HDR "percentile spectrum": position = log10(1 / (1 - p)), so 90 %, 99 %,
// 99.9 % … are evenly spaced and the tail gets as much room as the median. The y axis is the
// latency on a log scale. Each series is one system or one setting.

import { assert } from "../../src/util/assert.ts";

export interface PlotSeries {
  label: string;
  points: ReadonlyArray<{ percentile: number; valueUs: number }>;
}

export interface PlotOptions {
  title: string;
  subtitle?: string;
  width?: number;
  height?: number;
}

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const ninesMax = 6;

/** x position of a percentile, in "nines" (0 for p0, 2 for p99, 6 for p99.9999). */
export function percentileToNines(percentile: number): number {
  assert(percentile >= 0 && percentile <= 100, `percentile out of range: ${percentile}`);
  const tail = 1 - percentile / 100;
  if (tail <= Math.pow(10, -ninesMax)) return ninesMax;
  return Math.log10(1 / tail);
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function formatUs(valueUs: number): string {
  if (valueUs >= 1_000_000) return `${trim(valueUs / 1_000_000)} s`;
  if (valueUs >= 1000) return `${trim(valueUs / 1000)} ms`;
  return `${trim(valueUs)} µs`;
}

function trim(value: number): string {
  return String(Number(value.toPrecision(3)));
}

export function renderPercentilePlot(series: readonly PlotSeries[], options: PlotOptions): string {
  const width = options.width ?? 820;
  const height = options.height ?? 480;
  const margin = { left: 80, right: 200, top: 56, bottom: 56 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const values = series.flatMap((one) => one.points.map((point) => point.valueUs)).filter((value) => value > 0);
  const decadeLow = Math.floor(Math.log10(values.length > 0 ? Math.min(...values) : 1));
  const decadeHigh = Math.max(decadeLow + 1, Math.ceil(Math.log10(values.length > 0 ? Math.max(...values) : 10)));
  const ninesHigh = Math.max(
    2,
    Math.ceil(Math.max(0, ...series.flatMap((one) => one.points.map((point) => percentileToNines(point.percentile))))),
  );
  const xOf = (percentile: number) => margin.left + (percentileToNines(percentile) / ninesHigh) * plotWidth;
  const yOf = (valueUs: number) => {
    const position = (Math.log10(Math.max(valueUs, Math.pow(10, decadeLow))) - decadeLow) / (decadeHigh - decadeLow);
    return margin.top + plotHeight - position * plotHeight;
  };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${margin.left}" y="22" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`);
  if (options.subtitle) parts.push(`<text x="${margin.left}" y="40" fill="#555">${escapeXml(options.subtitle)}</text>`);
  // Grid: one horizontal line per decade (with 2 and 5 minor lines), one vertical per "nine".
  for (let decade = decadeLow; decade <= decadeHigh; decade++) {
    for (const multiple of [1, 2, 5]) {
      const value = multiple * Math.pow(10, decade);
      if (value > Math.pow(10, decadeHigh)) continue;
      const y = yOf(value).toFixed(1);
      const major = multiple === 1;
      parts.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotWidth}" y2="${y}" stroke="${major ? "#ccc" : "#eee"}"/>`);
      parts.push(`<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#333">${escapeXml(formatUs(value))}</text>`);
    }
  }
  for (let nines = 0; nines <= ninesHigh; nines++) {
    const x = (margin.left + (nines / ninesHigh) * plotWidth).toFixed(1);
    const label = nines === 0 ? "0%" : `${Number((100 * (1 - Math.pow(10, -nines))).toFixed(nines))}%`;
    parts.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotHeight}" stroke="#ddd"/>`);
    parts.push(`<text x="${x}" y="${margin.top + plotHeight + 16}" text-anchor="middle" fill="#333">${label}</text>`);
  }
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 12}" text-anchor="middle">percentile</text>`);
  parts.push(`<text x="16" y="${margin.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 16 ${margin.top + plotHeight / 2})">latency</text>`);
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`);
  series.forEach((one, index) => {
    const color = palette[index % palette.length]!;
    if (one.points.length > 0) {
      const path = one.points
        .map((point, pointIndex) => `${pointIndex === 0 ? "M" : "L"}${xOf(point.percentile).toFixed(1)},${yOf(point.valueUs).toFixed(1)}`)
        .join(" ");
      parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    const legendY = margin.top + 10 + index * 18;
    const legendX = margin.left + plotWidth + 12;
    parts.push(`<line x1="${legendX}" y1="${legendY}" x2="${legendX + 18}" y2="${legendY}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${legendX + 24}" y="${legendY}" dominant-baseline="middle">${escapeXml(one.label)}</text>`);
  });
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
