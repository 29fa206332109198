// Runnel's Kafka client, on the generated codecs: shared by the CLI, the replication follower
// fetcher, the tests and the benchmarks. It speaks only standard Kafka APIs, so it works against
// any Kafka-compatible broker. See docs/client.md.
//
//   connection.ts      one TCP connection: framing, pipelining, ApiVersions, timeouts
//   client.ts          bootstrap, metadata cache, routing to leaders/coordinators, retries
//   producer.ts        batching, partitioning, compression, acks, idempotence
//   consumer.ts        assigned partitions, positions, fetch loop, record decoding
//   group-member.ts    classic group membership (Join/Sync/Heartbeat/Leave, range assignor)
//   group-consumer.ts  a consumer driven by a group, committing its positions
//   offsets.ts         ListOffsets; admin-topics.ts, admin-configs.ts, admin-groups.ts, admin-quorum.ts: admin calls

export * from "./admin-configs.ts";
export * from "./admin-groups.ts";
export * from "./admin-topics.ts";
export * from "./admin-quorum.ts";
export * from "./admin-reassignments.ts";
export * from "./assignor.ts";
export * from "./client.ts";
export * from "./connection.ts";
export * from "./consumer.ts";
export * from "./errors.ts";
export * from "./frame-reader.ts";
export * from "./group-consumer.ts";
export * from "./group-member.ts";
export * from "./metadata.ts";
export * from "./offsets.ts";
export * from "./partitioner.ts";
export * from "./producer.ts";
export * from "./security.ts";
export * from "./admin-security.ts";
