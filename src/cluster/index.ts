// The cluster metadata of this node: topics (names, ids, partitions, config overrides) and the
// node's identity (meta.properties). Single node for now; the controller quorum will feed it later.

export { ClusterStore, topicPartitionsMax, type ClusterStoreOptions, type TopicMetadata } from "./store.ts";
export { loadOrCreateMetaProperties, type MetaProperties } from "./meta-properties.ts";
export { topicNameProblem, topicNameLengthMax, isInternalTopic } from "./topic-name.ts";
