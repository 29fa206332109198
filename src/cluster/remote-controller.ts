// The broker's way to an active controller in another process (docs/replication.md §3, §7): the
// controller's operations as Kafka requests on the controller's internal (CONTROLLER) listener —
// a direct RPC rather than Kafka's Envelope: CreateTopics, DeleteTopics, CreatePartitions,
// AlterConfigs (the whole override set, as ClusterAdmin.alterTopicConfigs means), AlterPartition,
// AllocateProducerIds, BrokerRegistration, BrokerHeartbeat, and the security changes (CreateAcls,
// DeleteAcls, AlterUserScramCredentials, AlterClientQuotas: the forwarding broker has authorized
// them; the records land in the metadata log, so every broker enforces them). The controller node answers once the
// change is committed and applied there; this side then asks it (DescribeQuorum) for its high
// watermark, which covers the change, so ClusterAdmin can wait for its own image to reach it.
//
// Retries: while no controller is known, and on NOT_CONTROLLER or a failed connection (a leader
// change), the call is sent again to the newest known leader after controller.quorum.retry.backoff.ms,
// until `deadlineMs` (controller.quorum.request.timeout.ms × 5) has passed: then REQUEST_TIMED_OUT.
// A create retried after a lost answer may come back TOPIC_ALREADY_EXISTS (as with Kafka).

import type { PeerConnections } from "../client/peer-connections.ts";
import type { Api } from "../protocol/api.ts";
import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { AllocateProducerIdsApi } from "../protocol/generated/allocate-producer-ids.ts";
import { AlterClientQuotasApi } from "../protocol/generated/alter-client-quotas.ts";
import { AlterConfigsApi } from "../protocol/generated/alter-configs.ts";
import { AlterPartitionApi } from "../protocol/generated/alter-partition.ts";
import { AlterPartitionReassignmentsApi } from "../protocol/generated/alter-partition-reassignments.ts";
import { ElectLeadersApi } from "../protocol/generated/elect-leaders.ts";
import { IncrementalAlterConfigsApi } from "../protocol/generated/incremental-alter-configs.ts";
import { BrokerHeartbeatApi } from "../protocol/generated/broker-heartbeat.ts";
import { BrokerRegistrationApi } from "../protocol/generated/broker-registration.ts";
import { AlterUserScramCredentialsApi } from "../protocol/generated/alter-user-scram-credentials.ts";
import { CreateAclsApi } from "../protocol/generated/create-acls.ts";
import { DeleteAclsApi } from "../protocol/generated/delete-acls.ts";
import { CreatePartitionsApi } from "../protocol/generated/create-partitions.ts";
import { CreateTopicsApi } from "../protocol/generated/create-topics.ts";
import { DeleteTopicsApi } from "../protocol/generated/delete-topics.ts";
import { DescribeQuorumApi } from "../protocol/generated/describe-quorum.ts";
import type { Init } from "../protocol/primitives.ts";
import type { AclBinding, AclBindingFilter } from "../security/acl.ts";
import type { Logger } from "../util/logger.ts";
import type {
  AlterPartitionAnswer, AlterPartitionOperation, BrokerHeartbeatRequest, BrokerRegistrationRequest, ControllerResult, CreatedTopic,
  CreateTopicRequest, ItemResult, ProducerIdBlock, QuotaAlteration, ScramDeletion, ScramUpsertion, UserResult,
} from "./controller/index.ts";
import { decommissioningKey, type PartitionAnswer, type ReassignmentRequest } from "./controller/reassignment-operations.ts";

/** Kafka's ConfigResource type of a topic. */
const TOPIC_RESOURCE = 2;
const BROKER_RESOURCE = 4;
const metadataTopicName = "__cluster_metadata";

export interface RemoteControllerOptions {
  peers: PeerConnections;
  /** The active controller as this node knows it (-1: none). */
  leader: () => number;
  clusterId: string;
  retryBackoffMs: number;
  requestTimeoutMs: number;
  logger: Logger;
}

const retriable = new Set<number>([ErrorCode.NOT_CONTROLLER, ErrorCode.REQUEST_TIMED_OUT]);

function fail(code: number, message: string | null | undefined, what: string): never {
  throw new KafkaError(code as never, message ?? `${what}: error ${code}`);
}

export class RemoteController {
  constructor(private readonly options: RemoteControllerOptions) {}

  /**
   * Send to the active controller; `errorOf` extracts the answer's error code (retriable ones are
   * retried). Purpose "heartbeat" has its own connection (closing it fences this broker).
   */
  private async call<Request, Response>(
    purpose: string, api: Api<Request, Response>, version: number, body: Init<Request>, errorOf: (response: Response) => number,
  ): Promise<{ response: Response; controller: number }> {
    const { retryBackoffMs, requestTimeoutMs } = this.options;
    const deadline = Date.now() + requestTimeoutMs * 5;
    let lastProblem = "no active controller is known";
    for (;;) {
      const controller = this.options.leader();
      if (controller >= 0) {
        try {
          const response = await this.options.peers.request(controller, purpose, api, body, { version, timeoutMs: requestTimeoutMs });
          const code = errorOf(response);
          if (!retriable.has(code)) return { response, controller };
          lastProblem = `node ${controller} answered ${code === ErrorCode.NOT_CONTROLLER ? "NOT_CONTROLLER" : "REQUEST_TIMED_OUT"}`;
        } catch (error) {
          if (error instanceof KafkaError && !retriable.has(error.code)) throw error;
          lastProblem = `node ${controller}: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      if (Date.now() >= deadline) throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `the active controller did not answer ${api.name} (${lastProblem})`);
      await new Promise((resolve) => setTimeout(resolve, retryBackoffMs));
    }
  }

  /** The metadata offset the controller has committed by now (covers what it answered before). */
  private async committedAt(controller: number): Promise<bigint> {
    try {
      const response = await this.options.peers.request(controller, "admin", DescribeQuorumApi,
        { topics: [{ topicName: metadataTopicName, partitions: [{ partitionIndex: 0 }] }] }, { version: 0, timeoutMs: this.options.requestTimeoutMs });
      const partition = response.topics[0]?.partitions[0];
      if (partition && partition.errorCode === 0) return partition.highWatermark - 1n;
    } catch {
      // Fall through: the caller then waits for nothing more than it has.
    }
    return -1n;
  }

  private async withOffset<T>(value: T, controller: number): Promise<ControllerResult<T>> {
    return { value, offset: await this.committedAt(controller) };
  }

  async createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<ControllerResult<CreatedTopic>> {
    const body = {
      topics: [{
        name: request.name, numPartitions: request.assignments ? -1 : request.numPartitions,
        replicationFactor: request.assignments ? -1 : request.replicationFactor,
        assignments: (request.assignments ?? []).map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
        configs: Object.entries(request.configs).map(([name, value]) => ({ name, value })),
      }],
      timeoutMs: this.options.requestTimeoutMs, validateOnly,
    };
    const { response, controller } = await this.call("admin", CreateTopicsApi, 7, body, (answer) => answer.topics[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    const topic = response.topics[0]!;
    if (topic.errorCode !== 0) fail(topic.errorCode, topic.errorMessage, `CreateTopics ${request.name}`);
    return this.withOffset({ name: topic.name, topicId: topic.topicId, partitions: topic.numPartitions, replicationFactor: topic.replicationFactor }, controller);
  }

  async deleteTopic(name: string): Promise<ControllerResult<void>> {
    const body = { topics: [{ name, topicId: "AAAAAAAAAAAAAAAAAAAAAA" }], topicNames: [name], timeoutMs: this.options.requestTimeoutMs };
    const { response, controller } = await this.call("admin", DeleteTopicsApi, 6, body, (answer) => answer.responses[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    const result = response.responses[0]!;
    if (result.errorCode !== 0) fail(result.errorCode, result.errorMessage, `DeleteTopics ${name}`);
    return this.withOffset(undefined, controller);
  }

  async createPartitions(name: string, totalPartitions: number, assignments: number[][] | null, validateOnly: boolean): Promise<ControllerResult<number>> {
    const body = {
      topics: [{ name, count: totalPartitions, assignments: assignments ? assignments.map((brokerIds) => ({ brokerIds })) : null }],
      timeoutMs: this.options.requestTimeoutMs, validateOnly,
    };
    const { response, controller } = await this.call("admin", CreatePartitionsApi, 3, body, (answer) => answer.results[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    const result = response.results[0]!;
    if (result.errorCode !== 0) fail(result.errorCode, result.errorMessage, `CreatePartitions ${name}`);
    return this.withOffset(totalPartitions, controller);
  }

  async alterTopicConfigs(name: string, overrides: Record<string, string>, validateOnly: boolean): Promise<ControllerResult<void>> {
    const body = {
      resources: [{ resourceType: TOPIC_RESOURCE, resourceName: name, configs: Object.entries(overrides).map(([key, value]) => ({ name: key, value })) }],
      validateOnly,
    };
    const { response, controller } = await this.call("admin", AlterConfigsApi, 2, body, (answer) => answer.responses[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    const result = response.responses[0]!;
    if (result.errorCode !== 0) fail(result.errorCode, result.errorMessage, `AlterConfigs ${name}`);
    return this.withOffset(undefined, controller);
  }

  async allocateProducerIds(brokerId: number, brokerEpoch: bigint): Promise<ControllerResult<ProducerIdBlock>> {
    const { response, controller } = await this.call("admin", AllocateProducerIdsApi, 0, { brokerId, brokerEpoch }, (answer) => answer.errorCode);
    if (response.errorCode !== 0) fail(response.errorCode, null, "AllocateProducerIds");
    return this.withOffset({ firstProducerId: response.producerIdStart, size: BigInt(response.producerIdLen) }, controller);
  }

  async alterPartition(operation: AlterPartitionOperation, brokerEpoch: bigint): Promise<ControllerResult<AlterPartitionAnswer>> {
    const body = {
      brokerId: operation.brokerId, brokerEpoch,
      topics: [{ topicId: operation.topicId, partitions: [{
        partitionIndex: operation.partition, leaderEpoch: operation.leaderEpoch, partitionEpoch: operation.partitionEpoch,
        newIsrWithEpochs: operation.newIsr.map((brokerId) => ({ brokerId, brokerEpoch: -1n })),
      }] }],
    };
    const { response, controller } = await this.call("admin", AlterPartitionApi, 3, body, (answer) => answer.errorCode);
    if (response.errorCode !== 0) return { value: { errorCode: response.errorCode }, offset: -1n };
    const partition = response.topics[0]?.partitions[0];
    if (!partition) return { value: { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR }, offset: -1n };
    if (partition.errorCode !== 0) return { value: { errorCode: partition.errorCode }, offset: -1n };
    return this.withOffset({
      errorCode: 0,
      registration: { leader: partition.leaderId, leaderEpoch: partition.leaderEpoch, isr: [...partition.isr], partitionEpoch: partition.partitionEpoch },
    }, controller);
  }

  async alterPartitionReassignments(requests: readonly ReassignmentRequest[]): Promise<ControllerResult<PartitionAnswer[]>> {
    const topics = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const request of requests) {
      const partitions = topics.get(request.topic) ?? [];
      partitions.push({ partitionIndex: request.partition, replicas: request.replicas === null ? null : [...request.replicas] });
      topics.set(request.topic, partitions);
    }
    const body = { timeoutMs: this.options.requestTimeoutMs, topics: [...topics].map(([name, partitions]) => ({ name, partitions })) };
    const { response, controller } = await this.call("admin", AlterPartitionReassignmentsApi, 0, body, (answer) => answer.errorCode);
    if (response.errorCode !== 0) fail(response.errorCode, response.errorMessage, "AlterPartitionReassignments");
    const answers = response.responses.flatMap((topic) => topic.partitions.map((partition) => ({
      topic: topic.name, partition: partition.partitionIndex, errorCode: partition.errorCode, message: partition.errorMessage,
    })));
    return this.withOffset(answers, controller);
  }

  /** Decommissioning as IncrementalAlterConfigs of the broker resource's broker.decommissioning key. */
  async setDecommissioning(brokerId: number, decommissioning: boolean): Promise<ControllerResult<void>> {
    const body = {
      resources: [{ resourceType: BROKER_RESOURCE, resourceName: String(brokerId), configs: [{ name: decommissioningKey, configOperation: decommissioning ? 0 : 1, value: decommissioning ? "true" : null }] }],
      validateOnly: false,
    };
    const { response, controller } = await this.call("admin", IncrementalAlterConfigsApi, 1, body, (answer) => answer.responses[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    const result = response.responses[0]!;
    if (result.errorCode !== 0) fail(result.errorCode, result.errorMessage, `decommission broker ${brokerId}`);
    return this.withOffset(undefined, controller);
  }

  async electLeaders(type: number, partitions: readonly { topic: string; partition: number }[] | null): Promise<ControllerResult<PartitionAnswer[]>> {
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of partitions ?? []) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    const body = { electionType: type, topicPartitions: partitions === null ? null : [...topics].map(([topic, indexes]) => ({ topic, partitions: indexes })), timeoutMs: this.options.requestTimeoutMs };
    const { response, controller } = await this.call("admin", ElectLeadersApi, 2, body, (answer) => answer.errorCode);
    if (response.errorCode !== 0) fail(response.errorCode, null, "ElectLeaders");
    const answers = response.replicaElectionResults.flatMap((topic) => topic.partitionResult.map((partition) => ({
      topic: topic.topic, partition: partition.partitionId, errorCode: partition.errorCode, message: partition.errorMessage,
    })));
    return this.withOffset(answers, controller);
  }

  async registerBroker(request: BrokerRegistrationRequest): Promise<ControllerResult<bigint>> {
    const body = {
      brokerId: request.brokerId, clusterId: this.options.clusterId, incarnationId: request.incarnationId,
      listeners: request.endpoints.map((endpoint) => ({ ...endpoint })), features: [], rack: request.rack, logDirs: [],
      // KIP-966: -1 says the broker did not shut down cleanly (Runnel does not keep its previous epoch).
      previousBrokerEpoch: request.cleanShutdown ? 0n : -1n,
    };
    const { response } = await this.call("heartbeat", BrokerRegistrationApi, 4, body, (answer) => answer.errorCode);
    if (response.errorCode !== 0) fail(response.errorCode, null, "BrokerRegistration");
    return { value: response.brokerEpoch, offset: response.brokerEpoch };
  }

  async brokerHeartbeat(request: BrokerHeartbeatRequest & { wantShutDown?: boolean }): Promise<ControllerResult<{ isFenced: boolean; shouldShutDown: boolean }>> {
    const body = {
      brokerId: request.brokerId, brokerEpoch: request.brokerEpoch, currentMetadataOffset: request.currentMetadataOffset,
      wantFence: false, wantShutDown: request.wantShutDown ?? false,
    };
    const { response } = await this.call("heartbeat", BrokerHeartbeatApi, 1, body, (answer) => answer.errorCode);
    if (response.errorCode !== 0) fail(response.errorCode, null, "BrokerHeartbeat");
    return { value: { isFenced: response.isFenced, shouldShutDown: response.shouldShutDown }, offset: -1n };
  }

  /** AlterUserScramCredentials: one result per user, as the controller answered. */
  async alterScramCredentials(deletions: readonly ScramDeletion[], upsertions: readonly ScramUpsertion[]): Promise<ControllerResult<UserResult[]>> {
    const body = { deletions: deletions.map((item) => ({ ...item })), upsertions: upsertions.map((item) => ({ ...item })) };
    const { response, controller } = await this.call("admin", AlterUserScramCredentialsApi, 0, body, (answer) => firstError(answer.results));
    return this.withOffset(response.results.map(({ user, errorCode, errorMessage }) => ({ user, errorCode, errorMessage })), controller);
  }

  /** CreateAcls: one result per binding. */
  async createAcls(bindings: readonly AclBinding[]): Promise<ControllerResult<ItemResult[]>> {
    const body = {
      creations: bindings.map((binding) => ({
        resourceType: binding.resourceType, resourceName: binding.resourceName, resourcePatternType: binding.patternType,
        principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permissionType,
      })),
    };
    const { response, controller } = await this.call("admin", CreateAclsApi, 3, body, (answer) => firstError(answer.results));
    if (response.results.length !== bindings.length) fail(ErrorCode.UNKNOWN_SERVER_ERROR, `${response.results.length} results for ${bindings.length} bindings`, "CreateAcls");
    return this.withOffset(response.results.map(({ errorCode, errorMessage }) => ({ errorCode, errorMessage })), controller);
  }

  /** DeleteAcls: per filter, the bindings it removed (a filter's error is thrown). */
  async deleteAcls(filters: readonly AclBindingFilter[]): Promise<ControllerResult<AclBinding[][]>> {
    const body = {
      filters: filters.map((filter) => ({
        resourceTypeFilter: filter.resourceType, resourceNameFilter: filter.resourceName, patternTypeFilter: filter.patternType,
        principalFilter: filter.principal, hostFilter: filter.host, operation: filter.operation, permissionType: filter.permissionType,
      })),
    };
    const { response, controller } = await this.call("admin", DeleteAclsApi, 3, body, (answer) => firstError(answer.filterResults));
    const failed = response.filterResults.find((result) => result.errorCode !== ErrorCode.NONE);
    if (failed) fail(failed.errorCode, failed.errorMessage, "DeleteAcls");
    const removed = response.filterResults.map((result) => result.matchingAcls.map((acl): AclBinding => ({
      resourceType: acl.resourceType, resourceName: acl.resourceName, patternType: acl.patternType,
      principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType,
    })));
    return this.withOffset(removed, controller);
  }

  /** AlterClientQuotas: one result per entry. */
  async alterClientQuotas(alterations: readonly QuotaAlteration[], validateOnly: boolean): Promise<ControllerResult<ItemResult[]>> {
    const body = {
      entries: alterations.map((alteration) => ({ entity: alteration.entity.map((part) => ({ ...part })), ops: alteration.ops.map((op) => ({ ...op })) })),
      validateOnly,
    };
    const { response, controller } = await this.call("admin", AlterClientQuotasApi, 1, body, (answer) => firstError(answer.entries));
    return this.withOffset(response.entries.map(({ errorCode, errorMessage }) => ({ errorCode, errorMessage })), controller);
  }
}

/** The first item's error (NOT_CONTROLLER is answered for every item alike); NONE for no items. */
function firstError(items: readonly { errorCode: number }[]): number {
  return items[0]?.errorCode ?? ErrorCode.NONE;
}
