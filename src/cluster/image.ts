// The metadata image (docs/replication.md §2): the cluster's state after the committed records of
// the metadata log, as one immutable value — brokers, topics by name and id, partition
// registrations (replicas, ISR, leader, epochs), topic config overrides, the next producer-id
// block. `applyRecords(image, records)` is pure: it returns a new image and a delta naming what
// changed, so listeners (reconciler, config cache, groups) do work in proportion to the change.
// The same code runs on every node of a cluster; a one-node cluster simply has one broker.
//
// Records are applied as Kafka replays them: a RegisterBrokerRecord replaces the broker's
// registration; a PartitionChangeRecord with a leader bumps the leader epoch; every partition
// change bumps the partition epoch; RemoveTopicRecord takes the topic's configs with it.
// A record that does not fit the image (a partition of an unknown topic, a duplicate topic id…)
// is a bug or a damaged log: it throws, and the image stays as it was.

import type { AclBinding } from "../security/acl.ts";
import type { ScramCredential } from "../security/scram.ts";
import { entityKey, type StoredQuota } from "../security/quotas.ts";
import { assert } from "../util/assert.ts";
import { ConfigResourceType, type Endpoint, type MetadataRecord, type QuorumVoterRecord, type RecordData } from "./records.ts";
import { isInternalTopic } from "./topic-name.ts";

export interface BrokerRegistration {
  readonly id: number;
  readonly incarnationId: string;
  /** The offset of its RegisterBrokerRecord. */
  readonly epoch: bigint;
  readonly endpoints: readonly Endpoint[];
  readonly rack: string | null;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
  readonly cleanShutdown: boolean;
}

export interface PartitionRegistration {
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
  /** -1 (NO_LEADER) when no replica may lead. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
}

export interface TopicImage {
  readonly name: string;
  /** Kafka text form of the topic's UUID. */
  readonly id: string;
  /** Indexed by partition id, 0 … n-1. */
  readonly partitions: readonly PartitionRegistration[];
  /** Topic-level config overrides as text (what CreateTopics/AlterConfigs set). */
  readonly configs: Readonly<Record<string, string>>;
  readonly internal: boolean;
}

export interface MetadataImage {
  /** Offset of the last record applied; -1 for the empty image. */
  readonly offset: bigint;
  /** Leader epoch (Raft epoch) of the batch that held it; -1 for the empty image. */
  readonly epoch: number;
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  /** Broker config overrides by resource name ("" is the cluster-wide default). */
  readonly brokerConfigs: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The first producer id of the next block to hand out. */
  readonly nextProducerId: bigint;
  /** SCRAM credentials: user → mechanism id → credential (UserScramCredentialRecord). */
  readonly scramCredentials: ReadonlyMap<string, ReadonlyMap<number, ScramCredential>>;
  /** ACL bindings by id (AccessControlEntryRecord). */
  readonly acls: ReadonlyMap<string, AclBinding>;
  /** Client quotas by entity key (security/quotas.ts entityKey), ClientQuotaRecord. */
  readonly clientQuotas: ReadonlyMap<string, StoredQuota>;
  /** The metadata quorum's voters as the log last recorded them (VotersRecord); null: the static controller.quorum.voters. */
  readonly quorumVoters: readonly QuorumVoterRecord[] | null;
}

/**
 * What an apply changed. Listeners read the current state from the new image; the delta only says
 * where to look (deltas of several applies can be merged by union: a topic created and deleted in
 * between is in both `createdTopics` and `deletedTopics`, and absent from the image).
 */
export interface MetadataDelta {
  /** Ids of topics that did not exist before. */
  readonly createdTopics: Set<string>;
  /** Removed topics, by id, as they last were (name, partitions: what to clean up). */
  readonly deletedTopics: Map<string, TopicImage>;
  /** Partitions created or changed: topic id → partition ids. */
  readonly changedPartitions: Map<string, Set<number>>;
  /** Names of topics whose config overrides changed. */
  readonly changedTopicConfigs: Set<string>;
  readonly changedBrokers: Set<number>;
  producerIdsChanged: boolean;
  /** Users whose SCRAM credentials changed (a SASL session of theirs may need to re-authenticate). */
  readonly changedScramUsers: Set<string>;
  aclsChanged: boolean;
  quotasChanged: boolean;
}

export const emptyImage: MetadataImage = Object.freeze({
  offset: -1n,
  epoch: -1,
  brokers: new Map(),
  topicsByName: new Map(),
  topicsById: new Map(),
  brokerConfigs: new Map(),
  nextProducerId: 0n,
  scramCredentials: new Map(),
  acls: new Map(),
  clientQuotas: new Map(),
  quorumVoters: null,
});

export function emptyDelta(): MetadataDelta {
  return {
    createdTopics: new Set(),
    deletedTopics: new Map(),
    changedPartitions: new Map(),
    changedTopicConfigs: new Set(),
    changedBrokers: new Set(),
    producerIdsChanged: false,
    changedScramUsers: new Set(),
    aclsChanged: false,
    quotasChanged: false,
  };
}

export function isEmptyDelta(delta: MetadataDelta): boolean {
  return delta.createdTopics.size === 0 && delta.deletedTopics.size === 0 && delta.changedPartitions.size === 0
    && delta.changedTopicConfigs.size === 0 && delta.changedBrokers.size === 0 && !delta.producerIdsChanged
    && delta.changedScramUsers.size === 0 && !delta.aclsChanged && !delta.quotasChanged;
}

/** `into` ∪ `from` (for publishers that apply several batches before notifying). */
export function mergeDelta(into: MetadataDelta, from: MetadataDelta): void {
  for (const id of from.createdTopics) into.createdTopics.add(id);
  for (const [id, topic] of from.deletedTopics) into.deletedTopics.set(id, topic);
  for (const [id, partitions] of from.changedPartitions) {
    const target = into.changedPartitions.get(id);
    if (target) for (const partition of partitions) target.add(partition);
    else into.changedPartitions.set(id, new Set(partitions));
  }
  for (const name of from.changedTopicConfigs) into.changedTopicConfigs.add(name);
  for (const id of from.changedBrokers) into.changedBrokers.add(id);
  into.producerIdsChanged ||= from.producerIdsChanged;
  for (const user of from.changedScramUsers) into.changedScramUsers.add(user);
  into.aclsChanged ||= from.aclsChanged;
  into.quotasChanged ||= from.quotasChanged;
}

/** A topic being changed by the current apply: its own copies, frozen into a TopicImage at the end. */
interface WorkingTopic {
  name: string;
  id: string;
  partitions: PartitionRegistration[];
  configs: Record<string, string>;
}

/**
 * Copies what it changes, once per apply: a batch creating a topic of 10,000 partitions copies the
 * topic maps once and builds one partitions array, not one per record.
 */
class ImageBuilder {
  readonly delta = emptyDelta();
  private brokers: Map<number, BrokerRegistration> | null = null;
  private brokerConfigs: Map<string, Readonly<Record<string, string>>> | null = null;
  private readonly working = new Map<string, WorkingTopic>();
  private readonly removed = new Set<string>();
  /** Names created (→ id) or removed (→ null) by this apply. */
  private readonly names = new Map<string, string | null>();
  private nextProducerId: bigint;
  private scramCredentials: Map<string, ReadonlyMap<number, ScramCredential>> | null = null;
  private acls: Map<string, AclBinding> | null = null;
  private clientQuotas: Map<string, StoredQuota> | null = null;
  private quorumVoters: readonly QuorumVoterRecord[] | null | undefined = undefined;

  constructor(private readonly base: MetadataImage) {
    this.nextProducerId = base.nextProducerId;
  }

  private topicById(id: string): WorkingTopic | undefined {
    if (this.removed.has(id)) return undefined;
    const working = this.working.get(id);
    if (working) return working;
    const topic = this.base.topicsById.get(id);
    if (!topic) return undefined;
    const copy = { name: topic.name, id, partitions: [...topic.partitions], configs: { ...topic.configs } };
    this.working.set(id, copy);
    return copy;
  }

  private topicIdByName(name: string): string | undefined {
    if (this.names.has(name)) return this.names.get(name) ?? undefined;
    return this.base.topicsByName.get(name)?.id;
  }

  private writableBrokers(): Map<number, BrokerRegistration> {
    this.brokers ??= new Map(this.base.brokers);
    return this.brokers;
  }

  private changedPartition(topicId: string, partition: number): void {
    let partitions = this.delta.changedPartitions.get(topicId);
    if (!partitions) this.delta.changedPartitions.set(topicId, (partitions = new Set()));
    partitions.add(partition);
  }

  apply(metadataRecord: MetadataRecord): void {
    switch (metadataRecord.type) {
      case "RegisterBrokerRecord": return this.registerBroker(metadataRecord.data);
      case "BrokerRegistrationChangeRecord": return this.changeBroker(metadataRecord.data);
      case "UnregisterBrokerRecord": return this.unregisterBroker(metadataRecord.data);
      case "TopicRecord": return this.addTopic(metadataRecord.data);
      case "PartitionRecord": return this.putPartition(metadataRecord.data);
      case "PartitionChangeRecord": return this.changePartition(metadataRecord.data);
      case "ConfigRecord": return this.putConfig(metadataRecord.data);
      case "RemoveTopicRecord": return this.removeTopic(metadataRecord.data);
      case "ProducerIdsRecord": return this.advanceProducerIds(metadataRecord.data);
      case "NoOpRecord": return;
      case "UserScramCredentialRecord": return this.putScramCredential(metadataRecord.data);
      case "RemoveUserScramCredentialRecord": return this.removeScramCredential(metadataRecord.data);
      case "AccessControlEntryRecord": return this.putAcl(metadataRecord.data);
      case "RemoveAccessControlEntryRecord": return this.removeAcl(metadataRecord.data);
      case "ClientQuotaRecord": return this.putClientQuota(metadataRecord.data);
      case "VotersRecord": return void (this.quorumVoters = Object.freeze(metadataRecord.data.voters.map((voter) => Object.freeze({ ...voter }))));
    }
  }

  private putClientQuota(data: RecordData["ClientQuotaRecord"]): void {
    this.clientQuotas ??= new Map(this.base.clientQuotas);
    const key = entityKey(data.entity);
    const values = { ...(this.clientQuotas.get(key)?.values ?? {}) };
    if (data.remove) delete values[data.key];
    else values[data.key] = data.value;
    // No entry for an entity without values (a snapshot rebuilds the same image).
    if (Object.keys(values).length === 0) this.clientQuotas.delete(key);
    else this.clientQuotas.set(key, Object.freeze({ entity: data.entity.map((part) => ({ ...part })), values: Object.freeze(values) }));
    this.delta.quotasChanged = true;
  }

  private putScramCredential(data: RecordData["UserScramCredentialRecord"]): void {
    assert(data.mechanism === 1 || data.mechanism === 2, `UserScramCredentialRecord with mechanism ${data.mechanism}`);
    this.scramCredentials ??= new Map(this.base.scramCredentials);
    const forUser = new Map(this.scramCredentials.get(data.name) ?? []);
    forUser.set(data.mechanism, { mechanism: data.mechanism, salt: data.salt, storedKey: data.storedKey, serverKey: data.serverKey, iterations: data.iterations });
    this.scramCredentials.set(data.name, forUser);
    this.delta.changedScramUsers.add(data.name);
  }

  private removeScramCredential(data: RecordData["RemoveUserScramCredentialRecord"]): void {
    this.scramCredentials ??= new Map(this.base.scramCredentials);
    const forUser = new Map(this.scramCredentials.get(data.name) ?? []);
    assert(forUser.delete(data.mechanism), `RemoveUserScramCredentialRecord for ${data.name}/${data.mechanism}, which has none`);
    if (forUser.size === 0) this.scramCredentials.delete(data.name);
    else this.scramCredentials.set(data.name, forUser);
    this.delta.changedScramUsers.add(data.name);
  }

  private putAcl(data: RecordData["AccessControlEntryRecord"]): void {
    this.acls ??= new Map(this.base.acls);
    assert(!this.acls.has(data.id), `AccessControlEntryRecord for existing id ${data.id}`);
    const { id, ...binding } = data;
    this.acls.set(id, Object.freeze(binding));
    this.delta.aclsChanged = true;
  }

  private removeAcl(data: RecordData["RemoveAccessControlEntryRecord"]): void {
    this.acls ??= new Map(this.base.acls);
    assert(this.acls.delete(data.id), `RemoveAccessControlEntryRecord for unknown id ${data.id}`);
    this.delta.aclsChanged = true;
  }

  private registerBroker(data: RecordData["RegisterBrokerRecord"]): void {
    this.writableBrokers().set(data.brokerId, {
      id: data.brokerId,
      incarnationId: data.incarnationId,
      epoch: data.brokerEpoch,
      endpoints: data.endPoints.map((endpoint) => ({ ...endpoint })),
      rack: data.rack,
      fenced: data.fenced,
      inControlledShutdown: data.inControlledShutdown,
      cleanShutdown: data.cleanShutdown,
    });
    this.delta.changedBrokers.add(data.brokerId);
  }

  private changeBroker(data: RecordData["BrokerRegistrationChangeRecord"]): void {
    const brokers = this.writableBrokers();
    const broker = brokers.get(data.brokerId);
    assert(broker !== undefined, `BrokerRegistrationChangeRecord for unregistered broker ${data.brokerId}`);
    assert(broker.epoch === data.brokerEpoch, `BrokerRegistrationChangeRecord for broker ${data.brokerId} epoch ${data.brokerEpoch}, registered ${broker.epoch}`);
    brokers.set(data.brokerId, {
      ...broker,
      fenced: data.fenced ?? broker.fenced,
      inControlledShutdown: data.inControlledShutdown ?? broker.inControlledShutdown,
    });
    this.delta.changedBrokers.add(data.brokerId);
  }

  private unregisterBroker(data: RecordData["UnregisterBrokerRecord"]): void {
    const brokers = this.writableBrokers();
    const broker = brokers.get(data.brokerId);
    assert(broker !== undefined && broker.epoch === data.brokerEpoch, `UnregisterBrokerRecord for broker ${data.brokerId} epoch ${data.brokerEpoch}`);
    brokers.delete(data.brokerId);
    this.delta.changedBrokers.add(data.brokerId);
  }

  private addTopic(data: RecordData["TopicRecord"]): void {
    assert(this.topicIdByName(data.name) === undefined, `TopicRecord for existing topic name ${data.name}`);
    assert(!this.base.topicsById.has(data.topicId) && !this.working.has(data.topicId), `TopicRecord for existing topic id ${data.topicId}`);
    this.working.set(data.topicId, { name: data.name, id: data.topicId, partitions: [], configs: {} });
    this.names.set(data.name, data.topicId);
    this.delta.createdTopics.add(data.topicId);
  }

  private putPartition(data: RecordData["PartitionRecord"]): void {
    const topic = this.topicById(data.topicId);
    assert(topic !== undefined, `PartitionRecord for unknown topic id ${data.topicId}`);
    assert(data.partitionId >= 0 && data.partitionId <= topic.partitions.length,
      `PartitionRecord ${data.partitionId} of ${topic.name}: partitions are numbered 0 … ${topic.partitions.length}`);
    checkReplicas(topic.name, data.partitionId, data.replicas, data.isr, data.leader);
    topic.partitions[data.partitionId] = {
      partition: data.partitionId,
      replicas: [...data.replicas],
      isr: [...data.isr],
      addingReplicas: [...data.addingReplicas],
      removingReplicas: [...data.removingReplicas],
      leader: data.leader,
      leaderEpoch: data.leaderEpoch,
      partitionEpoch: data.partitionEpoch,
    };
    this.changedPartition(topic.id, data.partitionId);
  }

  private changePartition(data: RecordData["PartitionChangeRecord"]): void {
    const topic = this.topicById(data.topicId);
    assert(topic !== undefined, `PartitionChangeRecord for unknown topic id ${data.topicId}`);
    const current = topic.partitions[data.partitionId];
    assert(current !== undefined, `PartitionChangeRecord for unknown partition ${topic.name}-${data.partitionId}`);
    const next: PartitionRegistration = {
      partition: current.partition,
      replicas: data.replicas ? [...data.replicas] : current.replicas,
      isr: data.isr ? [...data.isr] : current.isr,
      addingReplicas: data.addingReplicas ? [...data.addingReplicas] : current.addingReplicas,
      removingReplicas: data.removingReplicas ? [...data.removingReplicas] : current.removingReplicas,
      leader: data.leader ?? current.leader,
      leaderEpoch: data.leader === undefined ? current.leaderEpoch : current.leaderEpoch + 1,
      partitionEpoch: current.partitionEpoch + 1,
    };
    checkReplicas(topic.name, data.partitionId, next.replicas, next.isr, next.leader);
    topic.partitions[data.partitionId] = next;
    this.changedPartition(topic.id, data.partitionId);
  }

  private putConfig(data: RecordData["ConfigRecord"]): void {
    if (data.resourceType === ConfigResourceType.BROKER) {
      this.brokerConfigs ??= new Map(this.base.brokerConfigs);
      const configs = { ...(this.brokerConfigs.get(data.resourceName) ?? {}) };
      if (data.value === null) delete configs[data.name];
      else configs[data.name] = data.value;
      // No entry for a resource without overrides (a snapshot rebuilds the same image).
      if (Object.keys(configs).length === 0) this.brokerConfigs.delete(data.resourceName);
      else this.brokerConfigs.set(data.resourceName, configs);
      return;
    }
    assert(data.resourceType === ConfigResourceType.TOPIC, `ConfigRecord for resource type ${data.resourceType}`);
    const id = this.topicIdByName(data.resourceName);
    assert(id !== undefined, `ConfigRecord for unknown topic ${data.resourceName}`);
    const topic = this.topicById(id)!;
    if (data.value === null) delete topic.configs[data.name];
    else topic.configs[data.name] = data.value;
    this.delta.changedTopicConfigs.add(topic.name);
  }

  private removeTopic(data: RecordData["RemoveTopicRecord"]): void {
    const existing = this.base.topicsById.get(data.topicId);
    const working = this.working.get(data.topicId);
    assert((existing !== undefined || working !== undefined) && !this.removed.has(data.topicId), `RemoveTopicRecord for unknown topic id ${data.topicId}`);
    this.removed.add(data.topicId);
    this.names.set((working ?? existing)!.name, null);
    this.delta.deletedTopics.set(data.topicId, working ? freezeTopic(working) : existing!);
    this.delta.changedPartitions.delete(data.topicId);
  }

  private advanceProducerIds(data: RecordData["ProducerIdsRecord"]): void {
    assert(data.nextProducerId > this.nextProducerId, `ProducerIdsRecord moves the next producer id back: ${data.nextProducerId} <= ${this.nextProducerId}`);
    this.nextProducerId = data.nextProducerId;
    this.delta.producerIdsChanged = true;
  }

  build(offset: bigint, epoch: number): MetadataImage {
    let topicsByName = this.base.topicsByName;
    let topicsById = this.base.topicsById;
    if (this.working.size > 0 || this.removed.size > 0) {
      const byName = new Map(topicsByName);
      const byId = new Map(topicsById);
      for (const id of this.removed) {
        const topic = byId.get(id) ?? this.working.get(id);
        byId.delete(id);
        if (topic && byName.get(topic.name)?.id === id) byName.delete(topic.name);
      }
      for (const topic of this.working.values()) {
        if (this.removed.has(topic.id)) continue;
        const frozen = freezeTopic(topic);
        byName.set(frozen.name, frozen);
        byId.set(frozen.id, frozen);
      }
      topicsByName = byName;
      topicsById = byId;
    }
    assert(topicsByName.size === topicsById.size, "topics by name and by id agree");
    return Object.freeze({
      offset,
      epoch,
      brokers: this.brokers ?? this.base.brokers,
      topicsByName,
      topicsById,
      brokerConfigs: this.brokerConfigs ?? this.base.brokerConfigs,
      nextProducerId: this.nextProducerId,
      scramCredentials: this.scramCredentials ?? this.base.scramCredentials,
      acls: this.acls ?? this.base.acls,
      clientQuotas: this.clientQuotas ?? this.base.clientQuotas,
      quorumVoters: this.quorumVoters === undefined ? this.base.quorumVoters : this.quorumVoters,
    });
  }
}

function freezeTopic(topic: WorkingTopic): TopicImage {
  for (let index = 0; index < topic.partitions.length; index++) {
    assert(topic.partitions[index] !== undefined, `topic ${topic.name} has no partition ${index}`);
  }
  return Object.freeze({
    name: topic.name,
    id: topic.id,
    partitions: Object.freeze([...topic.partitions]),
    configs: Object.freeze({ ...topic.configs }),
    internal: isInternalTopic(topic.name),
  });
}

function checkReplicas(topic: string, partition: number, replicas: readonly number[], isr: readonly number[], leader: number): void {
  const where = `${topic}-${partition}`;
  assert(replicas.length > 0 && new Set(replicas).size === replicas.length, `${where}: replicas must be distinct and non-empty`);
  assert(isr.length > 0 && isr.every((id) => replicas.includes(id)) && new Set(isr).size === isr.length, `${where}: ISR must be a non-empty subset of the replicas`);
  assert(leader === -1 || isr.includes(leader), `${where}: the leader ${leader} must be in the ISR`);
}

/**
 * Apply committed (or, for the controller's speculative image, proposed) records. `offset` and
 * `epoch` locate the last of them in the metadata log; a speculative apply keeps the base's.
 */
export function applyRecords(
  image: MetadataImage,
  records: readonly MetadataRecord[],
  position: { offset: bigint; epoch: number } = { offset: image.offset, epoch: image.epoch },
): { image: MetadataImage; delta: MetadataDelta } {
  assert(position.offset >= image.offset, "the image only moves forward");
  const builder = new ImageBuilder(image);
  for (const metadataRecord of records) builder.apply(metadataRecord);
  return { image: builder.build(position.offset, position.epoch), delta: builder.delta };
}

// ----- queries ----------------------------------------------------------------------------------

/** The registration of a partition, or undefined when the topic or partition does not exist. */
export function partitionOf(image: MetadataImage, topic: string, partition: number): PartitionRegistration | undefined {
  return image.topicsByName.get(topic)?.partitions[partition];
}

/** Registered brokers that are not fenced, by id. */
export function liveBrokers(image: MetadataImage): BrokerRegistration[] {
  return [...image.brokers.values()].filter((broker) => !broker.fenced).sort((left, right) => left.id - right.id);
}

/** The endpoint of `broker` for listener `listenerName`, if it registered one. */
export function endpointOf(image: MetadataImage, broker: number, listenerName: string): Endpoint | undefined {
  return image.brokers.get(broker)?.endpoints.find((endpoint) => endpoint.name === listenerName);
}

/**
 * The delta that takes `before` to `after` when `after` was not reached record by record (a Raft
 * follower installing a snapshot over its running image): topics created and deleted by id, every
 * partition and config of the topics that remain or appear, every broker, producer ids.
 */
export function imageDifference(before: MetadataImage, after: MetadataImage): MetadataDelta {
  const delta = emptyDelta();
  for (const [id, topic] of before.topicsById) if (!after.topicsById.has(id)) delta.deletedTopics.set(id, topic);
  for (const [id, topic] of after.topicsById) {
    if (!before.topicsById.has(id)) delta.createdTopics.add(id);
    delta.changedPartitions.set(id, new Set(topic.partitions.map((partition) => partition.partition)));
    delta.changedTopicConfigs.add(topic.name);
  }
  for (const id of before.brokers.keys()) delta.changedBrokers.add(id);
  for (const id of after.brokers.keys()) delta.changedBrokers.add(id);
  delta.producerIdsChanged = before.nextProducerId !== after.nextProducerId;
  return delta;
}

/** Broker `brokerId` is a replica of `topic`-`partition` being added by a reassignment (throttled). */
export function isBeingAdded(image: MetadataImage, topic: string, partition: number, brokerId: number): boolean {
  return image.topicsByName.get(topic)?.partitions[partition]?.addingReplicas.includes(brokerId) ?? false;
}
