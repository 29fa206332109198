// Numbers, sizes, times and record bytes as the console shows them. Pure functions (no DOM):
// test/http/console-client.test.ts runs them under Bun.

export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–";
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(value: number): string {
  if (!Number.isFinite(value)) return "–";
  let unit = 0;
  let amount = value;
  while (Math.abs(amount) >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(amount)} B` : `${amount.toFixed(amount >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatMs(milliseconds: number | null): string {
  if (milliseconds === null || !Number.isFinite(milliseconds)) return "–";
  if (milliseconds === 0) return "0";
  if (milliseconds < 1) return `${(milliseconds * 1000).toFixed(0)} µs`;
  if (milliseconds < 1000) return `${milliseconds.toFixed(milliseconds < 10 ? 2 : 0)} ms`;
  return `${(milliseconds / 1000).toFixed(2)} s`;
}

export function formatTime(epochMs: number): string {
  return Number.isFinite(epochMs) && epochMs >= 0 ? new Date(epochMs).toISOString().replace("T", " ").replace("Z", " UTC") : String(epochMs);
}

export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Hex dump lines: offset, 16 bytes, their printable ASCII. */
export function hexDump(bytes: Uint8Array, maxBytes = 4096): string {
  const lines: string[] = [];
  const shown = Math.min(bytes.length, maxBytes);
  for (let start = 0; start < shown; start += 16) {
    const row = bytes.subarray(start, Math.min(start + 16, shown));
    const hex = [...row].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
    const ascii = [...row].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : ".")).join("");
    lines.push(`${start.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > shown) lines.push(`… ${bytes.length - shown} more bytes`);
  return lines.join("\n");
}

export type ShowAs = "utf8" | "json" | "hex";

/**
 * Record bytes shown as asked: UTF-8 text (invalid sequences fall back to hex), pretty JSON (text
 * that is not JSON is shown as text), or a hex dump. Null stays null (a tombstone, a null key).
 */
export function showBytes(bytes: Uint8Array | null, as: ShowAs): { text: string; note?: string } | null {
  if (bytes === null) return null;
  if (as === "hex") return { text: hexDump(bytes) };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { text: hexDump(bytes), note: "not UTF-8: shown as hex" };
  }
  if (as === "utf8") return { text };
  try {
    return { text: JSON.stringify(JSON.parse(text), null, 2) };
  } catch {
    return { text, note: "not JSON: shown as text" };
  }
}

/** The bytes of a consumed key/value/header as the API typed them (the console asks for BINARY). */
export function typedBytes(typed: { type: string; data: unknown } | null): Uint8Array | null {
  if (typed === null || typed.data === null || typed.data === undefined) return null;
  if (typed.type === "BINARY") return base64ToBytes(String(typed.data));
  const text = typed.type === "JSON" ? JSON.stringify(typed.data) : String(typed.data);
  return new TextEncoder().encode(text);
}
