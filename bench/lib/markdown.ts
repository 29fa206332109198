// Markdown tables and number formatting for result files.

import { assert } from "../../src/util/assert.ts";
import type { Spread } from "./stats.ts";

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  assert(headers.length > 0, "table without columns");
  for (const row of rows) assert(row.length === headers.length, `row has ${row.length} cells, table has ${headers.length}`);
  const escape = (cell: string) => cell.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = [
    `| ${headers.map(escape).join(" | ")} |`,
    `| ${headers.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
  ];
  return lines.join("\n") + "\n";
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatMs(valueUs: number): string {
  if (!Number.isFinite(valueUs)) return "n/a";
  const ms = valueUs / 1000;
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a";
}

/** "median (min – max)" with a formatter; a single run shows only the value. */
export function formatSpread(spread: Spread, format: (value: number) => string): string {
  if (spread.runs === 1) return format(spread.median);
  return `${format(spread.median)} (${format(spread.min)}–${format(spread.max)})`;
}

export function megabytesPerSecond(bytesPerSecond: number): number {
  return bytesPerSecond / 1_000_000;
}

/** A ratio with whether it meets its target: "0.62× ✓" / "0.31× ✗ (target ≥ 0.5)". */
export function ratioAgainst(value: number, comparison: "≥" | "≤", target: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const meets = comparison === "≥" ? value >= target : value <= target;
  return `${formatRatio(value)} ${meets ? "✓" : "✗"}`;
}

/** "meets" / "misses" for a plain figure against its target. */
export function verdict(meets: boolean): string {
  return meets ? "✓ meets the target" : "✗ misses the target";
}
