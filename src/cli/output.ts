// Output of the client commands: aligned text tables for people, JSON for scripts (`--json`:
// one document, int64 offsets as strings so no precision is lost in jq or JavaScript).

import type { CliIo } from "./io.ts";

export type Cell = string | number | bigint | boolean | null | undefined;

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return "-";
  return String(cell);
}

/** Columns padded to the widest cell; numbers right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const texts = rows.map((row) => row.map(cellText));
  const widths = headers.map((header, column) => Math.max(header.length, ...texts.map((row) => row[column]?.length ?? 0)));
  const numeric = headers.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === "number" || typeof row[column] === "bigint" || row[column] === null || row[column] === undefined));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  ").trimEnd();
  return [line(headers), ...texts.map(line)].join("\n") + "\n";
}

/** JSON with bigints as strings and Uint8Arrays as UTF-8 text. */
export function toJson(value: unknown, indent: number | undefined = 2): string {
  return JSON.stringify(value, (_key, item) => {
    if (typeof item === "bigint") return item.toString();
    if (item instanceof Uint8Array) return new TextDecoder().decode(item);
    return item;
  }, indent);
}

export async function printTable(io: CliIo, headers: readonly string[], rows: readonly (readonly Cell[])[]): Promise<void> {
  await io.write(formatTable(headers, rows));
}

export async function printJson(io: CliIo, value: unknown): Promise<void> {
  await io.write(`${toJson(value)}\n`);
}
