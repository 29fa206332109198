// The console's way to the broker: the public HTTP API only (the v3 routes and /metrics), as any
// other client uses it, so that it works wherever the API works (through a proxy, through
// forwarding in a cluster, behind the API's authentication).

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { message?: string };
    return new ApiError(response.status, body.message ?? `HTTP ${response.status}`);
  } catch {
    return new ApiError(response.status, `HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}

/** A JSON request; resolves to the parsed answer (undefined for 204), rejects with ApiError. */
export async function api<T>(path: string, options: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const init: RequestInit = { method: options.method ?? "GET", headers: { accept: "application/json" }, signal: options.signal };
  if (options.body !== undefined) {
    init.headers = { accept: "application/json", "content-type": "application/json" };
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

let clusterIdPromise: Promise<string> | undefined;

/** This cluster's id (the first path segment of every v3 route), asked once. */
export function clusterId(): Promise<string> {
  clusterIdPromise ??= api<{ data: { cluster_id: string }[] }>("/v3/clusters").then((list) => list.data[0]!.cluster_id);
  clusterIdPromise.catch(() => (clusterIdPromise = undefined));
  return clusterIdPromise;
}

/** A path under /v3/clusters/{cluster_id}. */
export async function clusterPath(path: string): Promise<string> {
  return `/v3/clusters/${encodeURIComponent(await clusterId())}${path}`;
}

export const enc = encodeURIComponent;

// ── the shapes the console reads (REST Proxy v3 as docs/http-api.md describes them) ─────────────

export interface Partition {
  partition_id: number;
  leader_id: number;
  replica_ids: number[];
  isr_ids: number[];
  log_start_offset: number;
  high_watermark: number;
  log_end_offset: number;
  size_bytes: number;
}

export interface Topic {
  topic_name: string;
  is_internal: boolean;
  replication_factor: number;
  partitions_count: number;
  partition_details?: Partition[];
}

export interface Broker {
  broker_id: number;
  host: string;
  port: number;
}

export interface Config {
  name: string;
  value: string | null;
  is_default: boolean;
  is_read_only: boolean;
  is_sensitive: boolean;
  source: string;
  documentation: string | null;
}

export interface TypedData {
  type: "BINARY" | "STRING" | "JSON";
  data: unknown;
}

export interface ConsumedRecord {
  topic_name: string;
  partition_id: number;
  offset: number;
  timestamp: number;
  timestamp_type: string;
  key: TypedData | null;
  value: TypedData | null;
  headers: { name: string; value: string | null }[];
}

export interface Group {
  consumer_group_id: string;
  state: string;
  partition_assignor: string;
  is_simple: boolean;
}

export interface Member {
  consumer_id: string;
  client_id: string;
  instance_id: string | null;
  host: string;
  assignments: { topic_name: string; partition_id: number }[];
}

export interface Lag {
  topic_name: string;
  partition_id: number;
  current_offset: number;
  log_end_offset: number;
  lag: number;
  consumer_id: string;
  client_id: string;
}

export interface List<T> {
  data: T[];
}
