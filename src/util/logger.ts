// A small leveled, structured logger writing one line per event to stderr.
//
//   level:   RUNNEL_LOG_LEVEL or `runnel start --log-level` (error, warn, info, debug; default
//            info; "silent" in tests that want quiet)
//   format:  RUNNEL_LOG_FORMAT or `--log-format`: "text" (default)
//              2026-01-31T12:00:00.000Z INFO node=1 [kafka] message key=value …
//            or "json", one object per line for log shippers:
//              {"time":"…","level":"info","node":1,"scope":"kafka","msg":"message","key":"value"}
//   node:    the node id, once the node knows it (setLogNodeId), in every line.

export type LogLevel = "silent" | "error" | "warn" | "info" | "debug";
export type LogFormat = "text" | "json";
const rank: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export function isLogLevel(text: string): text is LogLevel {
  return text in rank;
}

let threshold: LogLevel = isLogLevel(process.env.RUNNEL_LOG_LEVEL ?? "") ? (process.env.RUNNEL_LOG_LEVEL as LogLevel) : "info";
let format: LogFormat = process.env.RUNNEL_LOG_FORMAT === "json" ? "json" : "text";
let nodeId: number | null = null;

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

export function setLogFormat(next: LogFormat): void {
  format = next;
}

/**
 * The node id shown in every line. One per process: brokers started in one process (tests)
 * share it, the last one set wins.
 */
export function setLogNodeId(id: number | null): void {
  nodeId = id;
}

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

function textFields(fields?: Record<string, unknown>): string {
  if (!fields) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    parts.push(`${key}=${typeof value === "string" ? value : String(value)}`);
  }
  return parts.length ? " " + parts.join(" ") : "";
}

function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  return String(value);
}

/** One log line, without the trailing newline. */
export function formatLogLine(level: Exclude<LogLevel, "silent">, scope: string, message: string, fields?: Record<string, unknown>, time = new Date()): string {
  if (format === "json") {
    const record: Record<string, unknown> = { time: time.toISOString(), level, node: nodeId, scope, msg: message };
    for (const [key, value] of Object.entries(fields ?? {})) if (!(key in record)) record[key] = jsonValue(value);
    return JSON.stringify(record);
  }
  const node = nodeId === null ? "" : ` node=${nodeId}`;
  return `${time.toISOString()} ${level.toUpperCase()}${node} [${scope}] ${message}${textFields(fields)}`;
}

export function createLogger(scope: string): Logger {
  const emit = (level: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>) => {
    if (rank[level] > rank[threshold]) return;
    process.stderr.write(`${formatLogLine(level, scope, message, fields)}\n`);
  };
  return {
    error: (m, f) => emit("error", m, f),
    warn: (m, f) => emit("warn", m, f),
    info: (m, f) => emit("info", m, f),
    debug: (m, f) => emit("debug", m, f),
    child: (sub) => createLogger(`${scope}/${sub}`),
  };
}
