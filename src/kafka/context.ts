// The broker context every handler sees (ctx.broker): configuration, the published metadata image,
// the controller's operations, the partition replicas and the other subsystems. node.ts builds it
// once at start. Handlers read the cluster from the image (brokers, topics, leaders, epochs, ISR),
// change it through `admin`, and serve partitions through `replicas` — never through a log.

import type { Listener, LoadedBrokerConfig } from "../config/index.ts";
import type { ClusterAdmin } from "../cluster/admin.ts";
import type { MetadataPublisher } from "../cluster/publisher.ts";
import type { ProducerIdManager } from "../cluster/producer-id-manager.ts";
import type { TopicConfigs } from "../cluster/topic-configs.ts";
import type { Groups } from "../groups/index.ts";
import type { Transactions } from "../transactions/index.ts";
import type { ReplicaManager } from "../replication/replica-manager.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { BrokerMetrics } from "../util/metrics.ts";
import type { RequestHeaderInfo } from "./handler.ts";
import type { BrokerSecurity } from "./security.ts";
import type { QuorumController } from "../cluster/controller/index.ts";
import type { BrokerSessions } from "../cluster/controller/broker-sessions.ts";
import type { RaftMetadataLog } from "../raft/driver.ts";
import type { QuorumDescription } from "../raft/types.ts";
import type { VoterChange } from "../raft/voter-changes.ts";

/** The metadata quorum and the controller, for the internal listener's handlers (docs/replication.md §3, §4). */
import type { ReplicaBalancer } from "../cluster/controller/balancer-driver.ts";
import type { ReplicationQuota } from "../replication/core/quota.ts";

export interface QuorumServices {
  /** The Raft metadata log; null on a one-node cluster (its local log has no peers). */
  readonly raft: RaftMetadataLog | null;
  readonly controller: QuorumController;
  /** Broker sessions on the active controller; null on one node. */
  readonly sessions: BrokerSessions | null;
  /** The replica and leader balancer (a cluster of processes; acts where the controller is active). */
  readonly balancer?: ReplicaBalancer | null;
  /** DescribeQuorum as the quorum leader answers it (asked over the network when it is elsewhere); null when none answers. */
  describeQuorum(): Promise<QuorumDescription | null>;
  /** AddRaftVoter / RemoveRaftVoter (KIP-853), made by the quorum leader; rejects with a KafkaError when refused. */
  changeVoters(change: VoterChange, timeoutMs: number): Promise<void>;
}

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
  /** This connection's listener as clients are told (one context per listener) (port filled in once bound); registered with the controller. */
  advertised: Listener;
  /** The newest published metadata image: `metadata.image` (brokers, topics, partitions, leaders). */
  readonly metadata: MetadataPublisher;
  /** Effective topic configs (overrides over broker defaults), cached per change. */
  readonly topicConfigs: TopicConfigs;
  /** Metadata changes (create/delete topics, partitions, configs): the controller's operations. */
  readonly admin: ClusterAdmin;
  /** The partition replicas of this node: produce, fetch, offsets, with leader and epoch checks. */
  readonly replicas: ReplicaManager;
  /** Producer ids for InitProducerId, in blocks committed by the controller. */
  readonly producerIds: ProducerIdManager;
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
   * APIs must check it is present (absent: COORDINATOR_NOT_AVAILABLE), then ask
   * `groups.coordinatorError(groupId)` (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
   */
  groups?: Groups;
  /** Authorizer and SASL settings; absent in bare test contexts (everything allowed, no SASL). */
  security?: BrokerSecurity;
  /**
   * The internal (CONTROLLER) listener: its requests come from other nodes, admin changes among
   * them forwarded by a broker that authorized them on its own listener (cluster/remote-controller.ts).
   */
  readonly internalListener?: boolean;
  /** The transaction coordinator (src/transactions/), wired by node.ts; absent: COORDINATOR_NOT_AVAILABLE. */
  transactions?: Transactions;
  /** The metadata quorum and controller (node.ts sets it; bare test contexts have none). */
  quorum?: QuorumServices;
  /** leader.replication.throttled.rate: replica fetches of replicas being added by a reassignment (docs/elastic.md). */
  leaderReplicationQuota?: ReplicationQuota;
  /** Prometheus counters and histograms (GET /metrics on the HTTP listener); absent in bare test contexts. */
  readonly metrics?: BrokerMetrics;
}
