// The controller (docs/replication.md §3): QuorumController runs the operations that change the
// cluster's metadata — topics, partitions, configs, broker registrations, producer-id blocks — as
// pure functions of the image (topic-operations.ts, broker-operations.ts, partition-changes.ts,
// placement.ts) whose records it proposes to the metadata log.

export { QuorumController, type ControllerResult, type QuorumControllerOptions } from "./quorum-controller.ts";
export { topicPartitionsMax, type CreatedTopic, type CreateTopicRequest } from "./topic-operations.ts";
export { producerIdBlockSize, type BrokerHeartbeatRequest, type BrokerRegistrationRequest, type ProducerIdBlock } from "./broker-operations.ts";
export { placementOrder, placeReplicas } from "./placement.ts";
export { electLeader } from "./partition-changes.ts";
export type { ItemResult, QuotaAlteration, ScramDeletion, ScramUpsertion, UserResult } from "./security-operations.ts";
export { alterPartitionChange, type AlterPartitionAnswer, type AlterPartitionOperation } from "./partition-changes.ts";
export { BrokerSessions, type BrokerSessionsOptions } from "./broker-sessions.ts";
