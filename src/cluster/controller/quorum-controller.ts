// The active controller (docs/replication.md §3): the only writer of the metadata log. It is active
// while the metadata log says this node leads it; elsewhere every operation answers NOT_CONTROLLER
// (brokers will forward admin requests to the active controller over the internal listener).
//
// Single writer: an operation runs to completion synchronously — it reads the speculative image
// (the committed image plus the records this controller proposed and that are not committed yet),
// builds its records, applies them to the speculative image and proposes them — so two
// operations never interleave, and a later one sees an earlier one's effect before it commits
// (two creates of one name: the second answers TOPIC_ALREADY_EXISTS). The answer comes once the
// records are committed, with their offset: the broker answers its client once its own published
// image reached that offset (see ../admin.ts).
//
//   committed image ── + proposed, uncommitted records ──▶ speculative image ─▶ next operation
//
// A proposal that fails (leadership lost, the disk failed) resets the speculative image to the
// committed one: records that may still commit under another leader are never assumed.

import type { LoadedBrokerConfig } from "../../config/index.ts";
import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { randomUuid } from "../../protocol/primitives.ts";
import { assert } from "../../util/assert.ts";
import { createLogger, type Logger } from "../../util/logger.ts";
import { applyRecords, emptyImage, type MetadataImage, type TopicImage } from "../image.ts";
import type { MetadataLeader, MetadataLog } from "../metadata-log.ts";
import type { MetadataRecord } from "../records.ts";
import {
  allocateProducerIds,
  brokerHeartbeat,
  fenceBroker,
  registerBroker,
  type BrokerHeartbeatRequest,
  type BrokerRegistrationRequest,
  type ProducerIdBlock,
} from "./broker-operations.ts";
import { alterPartitionChange, type AlterPartitionAnswer, type AlterPartitionOperation } from "./partition-changes.ts";
import { controlledShutdown, type ControlledShutdownRequest } from "./controlled-shutdown.ts";
import { alterPartitionReassignments, electLeaders, setDecommissioning, type PartitionAnswer, type ReassignmentRequest } from "./reassignment-operations.ts";
import {
  alterClientQuotas, alterScramCredentials, createAcls, deleteAcls, type ItemResult, type QuotaAlteration, type ScramDeletion, type ScramUpsertion, type UserResult,
} from "./security-operations.ts";
import type { AclBinding, AclBindingFilter } from "../../security/acl.ts";
import {
  alterTopicConfigs,
  createPartitions,
  createTopic,
  deleteTopic,
  type CreatedTopic,
  type CreateTopicRequest,
  type Outcome,
} from "./topic-operations.ts";

/** An operation's answer and the metadata offset the caller must have applied to see its effect. */
export interface ControllerResult<T> {
  value: T;
  offset: bigint;
}

export interface QuorumControllerOptions {
  log: MetadataLog;
  config: LoadedBrokerConfig;
  logger?: Logger;
  /** Uniform in [0, 1): picks where replica placement starts (tests inject it). */
  random?: () => number;
  /** Fresh topic ids (tests inject them). */
  newTopicId?: () => string;
}

export class QuorumController {
  private readonly log: MetadataLog;
  private readonly config: LoadedBrokerConfig;
  private readonly logger: Logger;
  private readonly newTopicId: () => string;
  private committed: MetadataImage = emptyImage;
  private speculative: MetadataImage = emptyImage;
  private pendingProposals = 0;
  /** Resolves with the offset of the newest proposal (or the committed offset when it failed). */
  private lastProposal: Promise<bigint> = Promise.resolve(-1n);
  private leader: MetadataLeader;
  private placementCursor: number;
  private readonly activatedListeners: ((epoch: number) => void)[] = [];

  constructor(options: QuorumControllerOptions) {
    this.log = options.log;
    this.config = options.config;
    this.logger = options.logger ?? createLogger("controller");
    this.newTopicId = options.newTopicId ?? randomUuid;
    this.placementCursor = Math.floor((options.random ?? Math.random)() * 1_000_000);
    this.leader = this.log.leader;
    this.log.onCommit((batch) => {
      // A snapshot (a follower far behind) rebuilds the image from nothing.
      const base = batch.snapshot ? emptyImage : this.committed;
      this.committed = applyRecords(base, batch.records, { offset: batch.lastOffset, epoch: batch.epoch }).image;
      if (this.pendingProposals === 0) this.speculative = this.committed;
    });
    this.log.onLeaderChange((leader) => {
      const wasActive = this.isActive;
      this.leader = leader;
      if (wasActive && !this.isActive) this.speculative = this.committed;
      if (!wasActive && this.isActive) {
        this.logger.info("active controller", { epoch: leader.epoch });
        for (const listener of this.activatedListeners) listener(leader.epoch);
      }
    });
  }

  /** Called with the quorum epoch each time this node becomes the active controller (its image complete). */
  onActivated(listener: (epoch: number) => void): void {
    this.activatedListeners.push(listener);
  }

  /** The quorum epoch this node leads, or -1 when it is not the active controller. */
  get activeEpoch(): number {
    return this.isActive ? this.leader.epoch : -1;
  }

  /**
   * Resolves with the offset of the newest proposal once it settled: a caller told that something
   * already exists (perhaps by a proposal not committed yet) waits for this before looking.
   */
  proposalsSettled(): Promise<bigint> {
    return this.lastProposal;
  }

  get activeControllerId(): number {
    return this.leader.leaderId;
  }

  get isActive(): boolean {
    return this.leader.leaderId === this.log.nodeId;
  }

  /** The image operations see: committed plus proposed records (tests, diagnostics). */
  get speculativeImage(): MetadataImage {
    return this.speculative;
  }

  /**
   * Run one operation: synchronously from reading the image to proposing its records. Rejects
   * with the operation's KafkaError, or NOT_CONTROLLER when this node is not the active controller.
   */
  private run<T>(operation: (image: MetadataImage) => Outcome<T>): Promise<ControllerResult<T>> {
    if (!this.isActive) {
      return Promise.reject(new KafkaError(ErrorCode.NOT_CONTROLLER, `node ${this.log.nodeId} is not the active controller (leader: ${this.leader.leaderId})`));
    }
    let outcome: Outcome<T>;
    try {
      outcome = operation(this.speculative);
    } catch (error) {
      return Promise.reject(error);
    }
    const { records, value } = outcome;
    // Nothing to write (validateOnly, an idempotent retry): answered once the newest proposal —
    // which may be what made the answer so — has committed.
    if (records.length === 0) return this.lastProposal.then((offset) => ({ value, offset }));
    return this.propose(records).then((offset) => ({ value, offset }));
  }

  private propose(records: MetadataRecord[]): Promise<bigint> {
    // Throws (an assertion) if the records do not fit: a bug in an operation, caught before writing.
    this.speculative = applyRecords(this.speculative, records).image;
    this.pendingProposals += 1;
    const committed = this.log.append(records);
    this.lastProposal = committed.catch(() => this.log.committedOffset);
    return committed.then(
      (offset) => {
        this.settled();
        return offset;
      },
      (error: unknown) => {
        this.logger.warn("a metadata proposal failed; dropping the speculative image", { error: String(error) });
        this.settled();
        this.speculative = this.committed;
        throw error;
      },
    );
  }

  private settled(): void {
    this.pendingProposals -= 1;
    assert(this.pendingProposals >= 0, "proposals settle once");
    if (this.pendingProposals === 0) this.speculative = this.committed;
  }

  private nextPlacementStart(): number {
    this.placementCursor = (this.placementCursor + 1) % 1_000_000;
    return this.placementCursor;
  }

  // ----- topics --------------------------------------------------------------------------------

  /** CreateTopics; with validateOnly everything is checked and nothing written. */
  createTopic(request: CreateTopicRequest, validateOnly = false): Promise<ControllerResult<CreatedTopic>> {
    return this.run((image) => {
      const outcome = createTopic(image, request, { config: this.config, newTopicId: this.newTopicId, placementStart: this.nextPlacementStart() });
      if (!validateOnly) this.logger.info("creating topic", { topic: request.name, id: outcome.value.topicId, partitions: outcome.value.partitions });
      return validateOnly ? { records: [], value: outcome.value } : outcome;
    });
  }

  deleteTopic(name: string): Promise<ControllerResult<TopicImage>> {
    return this.run((image) => {
      const outcome = deleteTopic(image, name, this.config);
      this.logger.info("deleting topic", { topic: name, id: outcome.value.id });
      return outcome;
    });
  }

  createPartitions(name: string, totalPartitions: number, assignments: number[][] | null, validateOnly = false): Promise<ControllerResult<number>> {
    return this.run((image) => {
      const outcome = createPartitions(image, name, totalPartitions, assignments, this.nextPlacementStart());
      return validateOnly ? { records: [], value: outcome.value } : outcome;
    });
  }

  /** Replace a topic's config overrides (AlterConfigs semantics). */
  alterTopicConfigs(name: string, overrides: Record<string, string>, validateOnly = false): Promise<ControllerResult<void>> {
    return this.run((image) => {
      const outcome = alterTopicConfigs(image, name, overrides, this.config);
      return validateOnly ? { records: [], value: undefined } : outcome;
    });
  }

  // ----- brokers and producer ids --------------------------------------------------------------

  registerBroker(request: BrokerRegistrationRequest): Promise<ControllerResult<bigint>> {
    return this.run((image) => registerBroker(image, request, this.log.nextOffset, this.uncleanDefault));
  }

  brokerHeartbeat(request: BrokerHeartbeatRequest): Promise<ControllerResult<{ isFenced: boolean }>> {
    return this.run((image) => brokerHeartbeat(image, request, this.uncleanDefault));
  }

  /** Controlled shutdown: move the broker's leaderships away; answers whether it may stop now. */
  controlledShutdown(request: ControlledShutdownRequest): Promise<ControllerResult<{ shouldShutDown: boolean }>> {
    return this.run((image) => controlledShutdown(image, request));
  }

  /** Fence broker `brokerId` of registration `brokerEpoch` (session timeout, heartbeat connection closed). */
  /** This controller's unclean.leader.election.enable (topic overrides and dynamic defaults win). */
  private get uncleanDefault(): boolean {
    return this.config.values["unclean.leader.election.enable"];
  }

  fenceBroker(brokerId: number, brokerEpoch: bigint): Promise<ControllerResult<boolean>> {
    return this.run((image) => fenceBroker(image, brokerId, brokerEpoch, this.uncleanDefault));
  }

  /** The committed image (what fencing decisions compare against). */
  get committedImage(): MetadataImage {
    return this.committed;
  }

  allocateProducerIds(brokerId: number, brokerEpoch: bigint): Promise<ControllerResult<ProducerIdBlock>> {
    return this.run((image) => allocateProducerIds(image, brokerId, brokerEpoch));
  }

  /** AlterPartitionReassignments (45): per-partition answers; accepted ones start or cancel. */
  alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<ControllerResult<PartitionAnswer[]>> {
    return this.run((image) => {
      const outcome = alterPartitionReassignments(image, requests);
      if (outcome.records.length > 0) this.logger.info("reassigning partitions", { partitions: outcome.records.length });
      return outcome;
    });
  }

  /** Mark broker `brokerId` for decommissioning (or not): the balancer drains it. */
  setDecommissioning(brokerId: number, decommissioning: boolean): Promise<ControllerResult<void>> {
    return this.run((image) => {
      const outcome = setDecommissioning(image, brokerId, decommissioning);
      if (outcome.records.length > 0) this.logger.info(decommissioning ? "decommissioning broker" : "broker no longer decommissioning", { broker: brokerId });
      return outcome;
    });
  }

  /** ElectLeaders (43): type 0 preferred, 1 unclean; null partitions: all. */
  electLeaders(type: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<ControllerResult<PartitionAnswer[]>> {
    return this.run((image) => electLeaders(image, type, partitions));
  }

  /** AlterPartition (56) from a partition leader; refusals come back as the answer's error code. */
  alterPartition(operation: AlterPartitionOperation): Promise<ControllerResult<AlterPartitionAnswer>> {
    return this.run((image) => alterPartitionChange(image, operation));
  }

  // ----- security: SCRAM credentials and ACLs --------------------------------------------------

  alterScramCredentials(deletions: readonly ScramDeletion[], upsertions: readonly ScramUpsertion[]): Promise<ControllerResult<UserResult[]>> {
    return this.run((image) => alterScramCredentials(image, deletions, upsertions));
  }

  createAcls(bindings: readonly AclBinding[]): Promise<ControllerResult<ItemResult[]>> {
    return this.run((image) => createAcls(image, bindings, randomUuid));
  }

  deleteAcls(filters: readonly AclBindingFilter[]): Promise<ControllerResult<AclBinding[][]>> {
    return this.run((image) => deleteAcls(image, filters));
  }

  alterClientQuotas(alterations: readonly QuotaAlteration[], validateOnly: boolean): Promise<ControllerResult<ItemResult[]>> {
    return this.run(() => alterClientQuotas(alterations, validateOnly));
  }
}
