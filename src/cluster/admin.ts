// The broker's side of the controller's operations: what the Kafka handlers (and the HTTP API)
// call to change metadata. Each operation goes to the active controller and answers once this
// node's published image has reached the operation's offset, so the client's next request here
// (Metadata, Produce to the new topic) sees the change, with the local partitions set up.
// Today the controller runs in this process; forwarding to a remote active controller (issue 9's
// next steps) changes only this class.

import type { LoadedBrokerConfig } from "../config/index.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { AclBinding, AclBindingFilter } from "../security/acl.ts";
import type {
  ControllerResult, CreatedTopic, CreateTopicRequest, ItemResult, ProducerIdBlock, QuorumController, QuotaAlteration, ScramDeletion, ScramUpsertion, UserResult,
} from "./controller/index.ts";
import type { TopicImage } from "./image.ts";
import type { MetadataPublisher } from "./publisher.ts";

export class ClusterAdmin {
  constructor(
    private readonly controller: QuorumController,
    private readonly publisher: MetadataPublisher,
    private readonly config: LoadedBrokerConfig,
  ) {}

  /** The node id of the active controller (-1 while there is none). */
  get activeControllerId(): number {
    return this.controller.activeControllerId;
  }

  private async applied<T>(operation: Promise<ControllerResult<T>>): Promise<T> {
    const { value, offset } = await operation;
    await this.publisher.waitForPublished(offset);
    return value;
  }

  /** Throws KafkaError (TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG, NOT_CONTROLLER). */
  createTopic(request: CreateTopicRequest, validateOnly = false): Promise<CreatedTopic> {
    return this.applied(this.controller.createTopic(request, validateOnly));
  }

  /** Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, TOPIC_DELETION_DISABLED. */
  deleteTopic(name: string): Promise<TopicImage> {
    return this.applied(this.controller.deleteTopic(name));
  }

  /** Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT, INVALID_REPLICATION_FACTOR. */
  createPartitions(name: string, totalPartitions: number, assignments: number[][] | null, validateOnly = false): Promise<number> {
    return this.applied(this.controller.createPartitions(name, totalPartitions, assignments, validateOnly));
  }

  /** Replace a topic's overrides (AlterConfigs semantics). Throws KafkaError UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG. */
  alterTopicConfigs(name: string, overrides: Record<string, string>, validateOnly = false): Promise<void> {
    return this.applied(this.controller.alterTopicConfigs(name, overrides, validateOnly));
  }

  allocateProducerIds(brokerId: number, brokerEpoch: bigint): Promise<ProducerIdBlock> {
    return this.applied(this.controller.allocateProducerIds(brokerId, brokerEpoch));
  }

  /** AlterUserScramCredentials: one result per user. */
  alterScramCredentials(deletions: readonly ScramDeletion[], upsertions: readonly ScramUpsertion[]): Promise<UserResult[]> {
    return this.applied(this.controller.alterScramCredentials(deletions, upsertions));
  }

  /** CreateAcls: one result per binding. */
  createAcls(bindings: readonly AclBinding[]): Promise<ItemResult[]> {
    return this.applied(this.controller.createAcls(bindings));
  }

  /** DeleteAcls: per filter, the bindings it removed. */
  deleteAcls(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    return this.applied(this.controller.deleteAcls(filters));
  }

  /** AlterClientQuotas: one result per entry. */
  alterClientQuotas(alterations: readonly QuotaAlteration[], validateOnly: boolean): Promise<ItemResult[]> {
    return this.applied(this.controller.alterClientQuotas(alterations, validateOnly));
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
      await this.publisher.waitForPublished(await this.controller.proposalsSettled());
    }
    return this.publisher.image.topicsByName.get(name);
  }
}
