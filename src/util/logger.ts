// A small leveled logger writing one line per event to stderr. Level from RUNNEL_LOG_LEVEL
// (error, warn, info, debug; default info; "silent" in tests that want quiet).

export type LogLevel = "silent" | "error" | "warn" | "info" | "debug";
const rank: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

let threshold: LogLevel = (process.env.RUNNEL_LOG_LEVEL as LogLevel) in rank
  ? (process.env.RUNNEL_LOG_LEVEL as LogLevel)
  : "info";

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

function format(fields?: Record<string, unknown>): string {
  if (!fields) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    parts.push(`${key}=${typeof value === "string" ? value : String(value)}`);
  }
  return parts.length ? " " + parts.join(" ") : "";
}

export function createLogger(scope: string): Logger {
  const emit = (level: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>) => {
    if (rank[level] > rank[threshold]) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} [${scope}] ${message}${format(fields)}\n`);
  };
  return {
    error: (m, f) => emit("error", m, f),
    warn: (m, f) => emit("warn", m, f),
    info: (m, f) => emit("info", m, f),
    debug: (m, f) => emit("debug", m, f),
    child: (sub) => createLogger(`${scope}/${sub}`),
  };
}
