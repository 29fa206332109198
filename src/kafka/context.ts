// The broker context every handler sees (ctx.broker): configuration, the partition logs, the
// topic metadata store and the other subsystems. node.ts builds it once at start. Subsystems
// that land later (groups, producer ids) add a field here and one wiring line in node.ts.

import type { Listener, LoadedBrokerConfig } from "../config/index.ts";
import type { ClusterStore } from "../cluster/index.ts";
import type { Groups } from "../groups/index.ts";
import type { LogManager } from "../storage/types.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { BrokerMetrics } from "../util/metrics.ts";
import type { RequestHeaderInfo } from "./handler.ts";

/** One row of the ApiVersions table. */
export interface ApiRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface BrokerContext {
  /** Broker configuration (values, and which keys were set explicitly). */
  readonly config: LoadedBrokerConfig;
  readonly nodeId: number;
  /** cluster.id from meta.properties (22-character base64url UUID). */
  readonly clusterId: string;
  /** The address clients are told for this node's PLAINTEXT listener (port filled in once bound). */
  advertised: Listener;
  /** Every partition log of this node. */
  readonly logs: LogManager;
  /** Topics: names, ids, partition counts, config overrides; creates/deletes their logs. */
  readonly cluster: ClusterStore;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Test hook for fault injection, never set in production: called before each request's handler
   * with its header; it may observe it, delay it (return a promise) or fail it ("close", now or
   * later, closes that connection as a failed request does).
   */
  interceptRequest?: (header: RequestHeaderInfo) => void | "close" | Promise<void | "close">;
  /** The ApiVersions table, assembled from the registered handlers (set by the server). */
  apiRanges: readonly ApiRange[];
  /**
   * The group coordinator and offsets store (src/groups/), wired by node.ts. Handlers of group
   * APIs must check it is present (absent: COORDINATOR_NOT_AVAILABLE).
   */
  groups?: Groups;
  /** Prometheus counters and histograms (GET /metrics on the HTTP listener); absent in bare test contexts. */
  readonly metrics?: BrokerMetrics;
}
