// The broker's side of the controller's operations: what the Kafka handlers (and the HTTP API)
// call to change metadata. Each operation goes to the active controller and answers once this
// node's published image has reached the operation's offset, so the client's next request here
// (Metadata, Produce to the new topic) sees the change, with the local partitions set up.
// The controller runs on the metadata quorum's leader: in this process (always, on one node) the
// call is direct; elsewhere it is forwarded over the internal listener (remote-controller.ts: a
// direct RPC to the active controller, retried on NOT_CONTROLLER after a leader change).

import type { LoadedBrokerConfig } from "../config/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { AclBinding, AclBindingFilter } from "../security/acl.ts";
import type {
  AlterPartitionAnswer, AlterPartitionOperation, BrokerHeartbeatRequest, BrokerRegistrationRequest, ControllerResult, CreatedTopic,
  CreateTopicRequest, ItemResult, ProducerIdBlock, QuorumController, QuotaAlteration, ScramDeletion, ScramUpsertion, UserResult,
} from "./controller/index.ts";
import type { PartitionAnswer, ReassignmentRequest } from "./controller/reassignment-operations.ts";
import type { TopicImage } from "./image.ts";
import type { MetadataPublisher } from "./publisher.ts";
import type { RemoteController } from "./remote-controller.ts";

/** How long a forwarded operation's answer waits for this node's image to catch up. */
const catchUpWaitMs = 10_000;

export class ClusterAdmin {
  /** This broker's epoch once registered (AlterPartition and producer ids carry it). */
  brokerEpoch: bigint = -1n;
  /** Called for every heartbeat answered by the local controller (its session tracking). */
  onLocalHeartbeat: ((brokerId: number, brokerEpoch: bigint) => void) | null = null;

  constructor(
    private readonly controller: QuorumController,
    private readonly publisher: MetadataPublisher,
    private readonly config: LoadedBrokerConfig,
    private readonly remote: RemoteController | null = null,
  ) {}

  /** The node id of the active controller (-1 while there is none). */
  get activeControllerId(): number {
    return this.controller.activeControllerId;
  }

  private get local(): boolean {
    return this.remote === null || this.controller.isActive;
  }

  private async applied<T>(operation: Promise<ControllerResult<T>>): Promise<T> {
    const { value, offset } = await operation;
    if (this.local || offset < 0n) {
      if (offset >= 0n) await this.publisher.waitForPublished(offset);
      return value;
    }
    // Forwarded: the controller committed it; this node's image follows within a fetch or two.
    await Promise.race([
      this.publisher.waitForPublished(offset),
      new Promise<void>((_, reject) => setTimeout(() => reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, "this node's metadata did not catch up with the controller")), catchUpWaitMs).unref?.()),
    ]);
    return value;
  }

  /** Throws KafkaError (TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG, NOT_CONTROLLER). */
  createTopic(request: CreateTopicRequest, validateOnly = false): Promise<CreatedTopic> {
    if (this.local) return this.applied(this.controller.createTopic(request, validateOnly));
    return this.applied(this.remote!.createTopic(request, validateOnly));
  }

  /** Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, TOPIC_DELETION_DISABLED. */
  async deleteTopic(name: string): Promise<TopicImage> {
    if (this.local) return this.applied(this.controller.deleteTopic(name));
    const before = this.publisher.image.topicsByName.get(name);
    await this.applied(this.remote!.deleteTopic(name));
    return before ?? { name, id: "AAAAAAAAAAAAAAAAAAAAAA", partitions: [], configs: {}, internal: false };
  }

  /** Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT, INVALID_REPLICATION_FACTOR. */
  createPartitions(name: string, totalPartitions: number, assignments: number[][] | null, validateOnly = false): Promise<number> {
    if (this.local) return this.applied(this.controller.createPartitions(name, totalPartitions, assignments, validateOnly));
    return this.applied(this.remote!.createPartitions(name, totalPartitions, assignments, validateOnly));
  }

  /** Replace a topic's overrides (AlterConfigs semantics). Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG. */
  alterTopicConfigs(name: string, overrides: Record<string, string>, validateOnly = false): Promise<void> {
    if (this.local) return this.applied(this.controller.alterTopicConfigs(name, overrides, validateOnly));
    return this.applied(this.remote!.alterTopicConfigs(name, overrides, validateOnly));
  }

  allocateProducerIds(brokerId: number, brokerEpoch: bigint): Promise<ProducerIdBlock> {
    if (this.local) return this.applied(this.controller.allocateProducerIds(brokerId, brokerEpoch));
    // The block is committed before the answer: no need to wait for this node's image.
    return this.remote!.allocateProducerIds(brokerId, brokerEpoch).then((result) => result.value);
  }

  /** AlterPartition (56) as broker `brokerId`; refusals are the answer's error code, NOT_CONTROLLER is thrown. */
  alterPartition(operation: AlterPartitionOperation): Promise<AlterPartitionAnswer> {
    if (this.local) return this.applied(this.controller.alterPartition(operation));
    return this.applied(this.remote!.alterPartition(operation, this.brokerEpoch));
  }

  /** AlterPartitionReassignments (45): per-partition answers; the started ones are in this node's image. */
  alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<PartitionAnswer[]> {
    if (this.local) return this.applied(this.controller.alterPartitionReassignments(requests));
    return this.applied(this.remote!.alterPartitionReassignments(requests));
  }

  /** Mark broker `brokerId` for decommissioning (or not); answered once this node's image has it. */
  setDecommissioning(brokerId: number, decommissioning: boolean): Promise<void> {
    if (this.local) return this.applied(this.controller.setDecommissioning(brokerId, decommissioning));
    return this.applied(this.remote!.setDecommissioning(brokerId, decommissioning));
  }

  /** ElectLeaders (43): type 0 preferred, 1 unclean; null partitions: every partition. */
  electLeaders(type: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<PartitionAnswer[]> {
    if (this.local) return this.applied(this.controller.electLeaders(type, partitions));
    return this.applied(this.remote!.electLeaders(type, partitions));
  }

  /** BrokerRegistration: the broker epoch; answered once this node's image holds the registration. */
  registerBroker(request: BrokerRegistrationRequest): Promise<bigint> {
    if (this.local) return this.applied(this.controller.registerBroker(request));
    return this.applied(this.remote!.registerBroker(request));
  }

  /** BrokerHeartbeat: whether the broker is fenced (and, in controlled shutdown, may stop). */
  async brokerHeartbeat(request: BrokerHeartbeatRequest): Promise<{ isFenced: boolean }> {
    if (this.local) {
      const result = await this.applied(this.controller.brokerHeartbeat(request));
      this.onLocalHeartbeat?.(request.brokerId, request.brokerEpoch);
      return result;
    }
    const result = await this.remote!.brokerHeartbeat(request);
    return { isFenced: result.value.isFenced };
  }

  /**
   * Controlled shutdown of broker `brokerId`: resolves once the controller moved its leaderships
   * (committed; applied by this node's image when the controller is here), with whether it may
   * stop now. Remotely it is Kafka's BrokerHeartbeat with wantShutDown.
   */
  async controlledShutdown(brokerId: number, brokerEpoch: bigint): Promise<{ shouldShutDown: boolean }> {
    if (this.local) return this.applied(this.controller.controlledShutdown({ brokerId, brokerEpoch }));
    const result = await this.remote!.brokerHeartbeat({ brokerId, brokerEpoch, currentMetadataOffset: this.publisher.image.offset, wantShutDown: true });
    return { shouldShutDown: result.value.shouldShutDown };
  }

  /** AlterUserScramCredentials: one result per user. */
  alterScramCredentials(deletions: readonly ScramDeletion[], upsertions: readonly ScramUpsertion[]): Promise<UserResult[]> {
    if (this.local) return this.applied(this.controller.alterScramCredentials(deletions, upsertions));
    return this.applied(this.remote!.alterScramCredentials(deletions, upsertions));
  }

  /** CreateAcls: one result per binding. */
  createAcls(bindings: readonly AclBinding[]): Promise<ItemResult[]> {
    if (this.local) return this.applied(this.controller.createAcls(bindings));
    return this.applied(this.remote!.createAcls(bindings));
  }

  /** DeleteAcls: per filter, the bindings it removed. */
  deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    if (this.local) return this.applied(this.controller.deleteAcls(filters));
    return this.applied(this.remote!.deleteAcls(filters));
  }

  /** AlterClientQuotas: one result per entry. */
  alterClientQuotas(alterations: readonly QuotaAlteration[], validateOnly: boolean): Promise<ItemResult[]> {
    if (this.local) return this.applied(this.controller.alterClientQuotas(alterations, validateOnly));
    return this.applied(this.remote!.alterClientQuotas(alterations, validateOnly));
  }

  isAlreadyExists(error: unknown): boolean {
    return error instanceof KafkaError && error.code === ErrorCode.TOPIC_ALREADY_EXISTS;
  }

  /**
   * The topic, auto-created (num.partitions, default.replication.factor) when missing and
   * auto.create.topics.enable is on (Metadata, Produce). Undefined when it does not exist and may
   * not be created. Throws KafkaError INVALID_TOPIC_EXCEPTION for an illegal or colliding name.
   */
  async ensureTopic(name: string): Promise<TopicImage | undefined> {
    const existing = this.publisher.image.topicsByName.get(name);
    if (existing) return existing;
    if (!this.config.values["auto.create.topics.enable"]) return undefined;
    try {
      await this.createTopic({ name, numPartitions: -1, replicationFactor: -1, assignments: null, configs: {} });
    } catch (error) {
      if (!(error instanceof KafkaError) || error.code !== ErrorCode.TOPIC_ALREADY_EXISTS) throw error;
      // Created by someone else, perhaps not committed yet: wait until it is published here.
      if (this.local) await this.publisher.waitForPublished(await this.controller.proposalsSettled());
      else await this.waitForTopic(name);
    }
    return this.publisher.image.topicsByName.get(name);
  }

  private async waitForTopic(name: string): Promise<void> {
    const deadline = Date.now() + catchUpWaitMs;
    while (!this.publisher.image.topicsByName.has(name) && Date.now() < deadline) {
      await Promise.race([this.publisher.waitForPublished(this.publisher.image.offset + 1n), new Promise((resolve) => setTimeout(resolve, 100))]);
    }
  }
}
