// The cluster's metadata (docs/replication.md §2-3): records (records.ts) in the metadata log
// (metadata-log.ts; local-metadata-log.ts for a one-node cluster), applied to the immutable image
// (image.ts) by the publisher (publisher.ts); the controller (controller/) is their only writer and
// ClusterAdmin (admin.ts) the broker's way to it. Also: meta.properties, topic names, the legacy
// topics.json migration, producer-id blocks, effective topic configs.

export { ClusterAdmin } from "./admin.ts";
export { topicPartitionsMax, type CreatedTopic, type CreateTopicRequest } from "./controller/index.ts";
export { endpointOf, liveBrokers, partitionOf, type BrokerRegistration, type MetadataDelta, type MetadataImage, type PartitionRegistration, type TopicImage } from "./image.ts";
export { loadOrCreateMetaProperties, type MetaProperties } from "./meta-properties.ts";
export type { MetadataPublisher } from "./publisher.ts";
export type { TopicConfigs } from "./topic-configs.ts";
export { topicNameProblem, topicNameLengthMax, isInternalTopic } from "./topic-name.ts";
