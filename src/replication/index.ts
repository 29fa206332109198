// Partition replication (docs/replication.md §5): the replica of each partition on this node
// (partition.ts: leader role; follower role a stub until the replica fetcher), the replica manager
// (replica-manager.ts: lookups with Kafka's errors, leadership announcements), the reconciler
// (reconciler.ts: metadata image → local logs and roles), the consumer long poll (long-poll.ts) and
// ListOffsets lookups (offset-lookup.ts).

export { NotLeaderOrFollowerError, PartitionUnavailable } from "./errors.ts";
export { appendToPartition, holdsSeveralBatches, type Acks, type PartitionAppendEnvironment, type PartitionAppendResult } from "./partition-append.ts";
export { waitForData } from "./long-poll.ts";
export { offsetForTimestamp, type TimestampAndOffset } from "./offset-lookup.ts";
export { NO_EPOCH_CHECK, Partition, READ_COMMITTED, READ_UNCOMMITTED, type FollowerFetch, type FollowerFetchResult, type LeaderAppendOptions, type ReplicaRole } from "./partition.ts";
export { Reconciler, type ReconcilerOptions } from "./reconciler.ts";
export { ReplicaManager, type LeadershipChange, type LeadershipListener, type PartitionRecoveryState, type ReplicaManagerOptions, type ReplicationObserver } from "./replica-manager.ts";
export { adminAlterPartitionSender, HandlerAlterPartitionSender, type AlterPartitionAdmin, type AlterPartitionHandler, type AlterPartitionRequest, type AlterPartitionResult, type AlterPartitionSender } from "./alter-partition-sender.ts";
export { IsrManager, type IsrManagerOptions } from "./isr-manager.ts";
export { ReplicaFetcherManager, type ReplicaFetcherManagerOptions } from "./fetcher/replica-fetcher-manager.ts";
export { type FetcherSettings } from "./fetcher/replica-fetcher.ts";
export { replicaFetchEndpoint } from "./fetcher/endpoint.ts";
