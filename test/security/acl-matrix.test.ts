// The ACL matrix: for each Kafka API, a user authenticated with SASL/SCRAM but without the ACL
// gets Kafka's error (TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED) and nothing changes (checked by
// the super user); after the super user grants exactly the ACL Kafka requires, the same request
// succeeds. Requests go through Runnel's own client with SASL (src/client/security.ts), at the
// versions it negotiates, so the error codes are read exactly.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import {
  AlterConfigsApi, AlterUserScramCredentialsApi, CreateAclsApi, CreatePartitionsApi, CreateTopicsApi, DeleteAclsApi, DeleteGroupsApi,
  DeleteRecordsApi, DeleteTopicsApi, DescribeAclsApi, DescribeClusterApi, DescribeConfigsApi, DescribeGroupsApi,
  DescribeUserScramCredentialsApi, FetchApi, FindCoordinatorApi, IncrementalAlterConfigsApi, InitProducerIdApi, JoinGroupApi,
  ListGroupsApi, ListOffsetsApi, MetadataApi, OffsetCommitApi, OffsetDeleteApi, OffsetFetchApi, ProduceApi,
} from "../../src/protocol/generated/index.ts";
import { AclOperation as Op, PatternType, PermissionType, ResourceType } from "../../src/security/acl.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

let broker: Broker;
let admin: KafkaConnection;
let alice: KafkaConnection;

const connectAs = (user: string) => connectTo(broker.listeners.get("SASL_PLAINTEXT")!, "acl-matrix", {
  security: { sasl: { mechanism: "SCRAM-SHA-256", username: user, password: `${user}-secret` } },
});

beforeAll(async () => {
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,HTTP://127.0.0.1:0",
      "bootstrap.scram.users": "SCRAM-SHA-256=[name=admin,password=admin-secret,iterations=4096];SCRAM-SHA-256=[name=alice,password=alice-secret,iterations=4096]",
      "super.users": "User:admin",
      "num.partitions": 1,
      "offsets.topic.num.partitions": 1,
    },
  });
  admin = await connectAs("admin");
  alice = await connectAs("alice");
  const created = await admin.request(CreateTopicsApi, {
    topics: ["matrix", "doomed", "growing"].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
    timeoutMs: 10000, validateOnly: false,
  });
  expect(created.topics.map((topic) => topic.errorCode)).toEqual([0, 0, 0]);
  expect(await produce(admin, "matrix")).toBe(ErrorCode.NONE);
  // A group with a committed offset (a simple consumer's commit: generation -1).
  expect(await commit(admin, "matrix-group")).toBe(ErrorCode.NONE);
}, 30000);

afterAll(async () => {
  alice?.close();
  admin?.close();
  await broker?.stop();
});

async function grant(resourceType: number, resourceName: string, operation: number, patternType: number = PatternType.LITERAL): Promise<void> {
  const response = await admin.request(CreateAclsApi, {
    creations: [{ resourceType, resourceName, resourcePatternType: patternType, principal: "User:alice", host: "*", operation, permissionType: PermissionType.ALLOW }],
  });
  expect(response.results[0]!.errorCode).toBe(ErrorCode.NONE);
}

async function revokeAll(): Promise<void> {
  await admin.request(DeleteAclsApi, {
    filters: [{ resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: "User:alice", hostFilter: null, operation: Op.ANY, permissionType: PermissionType.ANY }],
  });
}

async function produce(connection: KafkaConnection, topic: string): Promise<number> {
  const response = await connection.request(ProduceApi, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ batchNumber: 1, recordCount: 1, valueBytes: 8 }) }] }],
  });
  return response.responses[0]!.partitionResponses[0]!.errorCode;
}

async function endOffset(topic: string): Promise<bigint> {
  const response = await admin.request(ListOffsetsApi, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
  return response.topics[0]!.partitions[0]!.offset;
}

async function commit(connection: KafkaConnection, group: string): Promise<number> {
  const response = await connection.request(OffsetCommitApi, {
    groupId: group, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null, retentionTimeMs: -1n,
    topics: [{ name: "matrix", partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: "" }] }],
  }, { version: 8 });
  return response.topics[0]!.partitions[0]!.errorCode;
}

interface Case {
  api: string;
  /** The ACLs Kafka requires (granted in order before the allowed attempt). */
  grants: [number, string, number][];
  attempt(connection: KafkaConnection): Promise<number>;
  denied: number;
  /** Checked (as admin) after the denied attempt: nothing changed. */
  unchanged?(): Promise<void>;
}

const cases: Case[] = [
  {
    api: "Produce", grants: [[ResourceType.TOPIC, "matrix", Op.WRITE]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: (connection) => produce(connection, "matrix"),
    unchanged: async () => expect(await endOffset("matrix")).toBe(1n),
  },
  {
    api: "Fetch", grants: [[ResourceType.TOPIC, "matrix", Op.READ]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => {
      const response = await connection.request(FetchApi, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: "matrix", topicId: "", partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: "",
      }, { version: 12 });
      const partition = response.responses[0]!.partitions[0]!;
      if (partition.errorCode !== ErrorCode.NONE) expect(partition.records?.length ?? 0).toBe(0);
      return partition.errorCode;
    },
  },
  {
    api: "ListOffsets", grants: [[ResourceType.TOPIC, "matrix", Op.DESCRIBE]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(ListOffsetsApi, {
      replicaId: -1, isolationLevel: 0, topics: [{ name: "matrix", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    })).topics[0]!.partitions[0]!.errorCode,
  },
  {
    api: "Metadata (named topic; a listing hides it)", grants: [[ResourceType.TOPIC, "matrix", Op.DESCRIBE]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => {
      const all = await connection.request(MetadataApi, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      const listed = all.topics.some((topic) => topic.name === "matrix");
      const named = await connection.request(MetadataApi, { topics: [{ name: "matrix", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
      const code = named.topics[0]!.errorCode;
      expect(listed).toBe(code === ErrorCode.NONE);
      if (code === ErrorCode.NONE) expect(named.topics[0]!.topicAuthorizedOperations).toBe(1 << Op.DESCRIBE);
      return code;
    },
  },
  {
    api: "OffsetCommit", grants: [[ResourceType.GROUP, "matrix-group", Op.READ], [ResourceType.TOPIC, "matrix", Op.READ]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: (connection) => commit(connection, "matrix-group"),
  },
  {
    api: "OffsetFetch", grants: [[ResourceType.GROUP, "matrix-group", Op.DESCRIBE]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(OffsetFetchApi, { groupId: "matrix-group", topics: null, requireStable: false }, { version: 7 })).errorCode,
  },
  {
    api: "FindCoordinator", grants: [[ResourceType.GROUP, "matrix-group", Op.DESCRIBE]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(FindCoordinatorApi, { key: "", keyType: 0, coordinatorKeys: ["matrix-group"] }, { version: 4 })).coordinators[0]!.errorCode,
  },
  {
    api: "JoinGroup", grants: [[ResourceType.GROUP, "join-group", Op.READ]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: async (connection) => {
      const response = await connection.request(JoinGroupApi, {
        groupId: "join-group", sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: "", groupInstanceId: null, protocolType: "consumer",
        protocols: [{ name: "range", metadata: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }], reason: null,
      }, { version: 5 });
      return response.errorCode === ErrorCode.MEMBER_ID_REQUIRED ? ErrorCode.NONE : response.errorCode;
    },
  },
  {
    api: "DescribeGroups", grants: [[ResourceType.GROUP, "matrix-group", Op.DESCRIBE]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DescribeGroupsApi, { groups: ["matrix-group"], includeAuthorizedOperations: true })).groups[0]!.errorCode,
  },
  {
    api: "ListGroups (lists only what may be described)", grants: [[ResourceType.GROUP, "matrix-group", Op.DESCRIBE]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: async (connection) => {
      const response = await connection.request(ListGroupsApi, { statesFilter: [], typesFilter: [] });
      return response.groups.some((group) => group.groupId === "matrix-group") ? ErrorCode.NONE : ErrorCode.GROUP_AUTHORIZATION_FAILED;
    },
  },
  {
    api: "CreateTopics", grants: [[ResourceType.TOPIC, "made-by-alice", Op.CREATE]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(CreateTopicsApi, {
      topics: [{ name: "made-by-alice", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false,
    })).topics[0]!.errorCode,
    unchanged: async () => {
      const listed = await admin.request(MetadataApi, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      expect(listed.topics.map((topic) => topic.name)).not.toContain("made-by-alice");
    },
  },
  {
    api: "DeleteTopics", grants: [[ResourceType.TOPIC, "doomed", Op.DELETE]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DeleteTopicsApi, { topics: [], topicNames: ["doomed"], timeoutMs: 10000 }, { version: 5 })).responses[0]!.errorCode,
    unchanged: async () => expect(await endOffset("doomed")).toBe(0n),
  },
  {
    api: "DeleteRecords", grants: [[ResourceType.TOPIC, "matrix", Op.DELETE]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DeleteRecordsApi, {
      topics: [{ name: "matrix", partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 5000,
    })).topics[0]!.partitions[0]!.errorCode,
  },
  {
    api: "InitProducerId (idempotent)", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.IDEMPOTENT_WRITE]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 })).errorCode,
  },
  {
    api: "DescribeConfigs (topic)", grants: [[ResourceType.TOPIC, "matrix", Op.DESCRIBE_CONFIGS]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DescribeConfigsApi, {
      resources: [{ resourceType: 2, resourceName: "matrix", configurationKeys: null }], includeSynonyms: false, includeDocumentation: false,
    })).results[0]!.errorCode,
  },
  {
    api: "DescribeConfigs (broker)", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.DESCRIBE_CONFIGS]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DescribeConfigsApi, {
      resources: [{ resourceType: 4, resourceName: "1", configurationKeys: null }], includeSynonyms: false, includeDocumentation: false,
    })).results[0]!.errorCode,
  },
  {
    api: "AlterConfigs", grants: [[ResourceType.TOPIC, "matrix", Op.ALTER_CONFIGS]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(AlterConfigsApi, {
      resources: [{ resourceType: 2, resourceName: "matrix", configs: [{ name: "retention.ms", value: "3600000" }] }], validateOnly: false,
    })).responses[0]!.errorCode,
    unchanged: async () => {
      const described = await admin.request(DescribeConfigsApi, { resources: [{ resourceType: 2, resourceName: "matrix", configurationKeys: ["retention.ms"] }], includeSynonyms: false, includeDocumentation: false });
      expect(described.results[0]!.configs[0]!.value).toBe("604800000");
    },
  },
  {
    api: "IncrementalAlterConfigs", grants: [[ResourceType.TOPIC, "matrix", Op.ALTER_CONFIGS]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(IncrementalAlterConfigsApi, {
      resources: [{ resourceType: 2, resourceName: "matrix", configs: [{ name: "segment.ms", configOperation: 0, value: "3600000" }] }], validateOnly: false,
    })).responses[0]!.errorCode,
  },
  {
    api: "CreatePartitions", grants: [[ResourceType.TOPIC, "growing", Op.ALTER]], denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(CreatePartitionsApi, {
      topics: [{ name: "growing", count: 2, assignments: null }], timeoutMs: 10000, validateOnly: false,
    })).results[0]!.errorCode,
    unchanged: async () => {
      const described = await admin.request(MetadataApi, { topics: [{ name: "growing", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      expect(described.topics[0]!.partitions).toHaveLength(1);
    },
  },
  {
    api: "OffsetDelete", grants: [[ResourceType.GROUP, "matrix-group", Op.DELETE]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(OffsetDeleteApi, { groupId: "matrix-group", topics: [{ name: "matrix", partitions: [{ partitionIndex: 0 }] }] })).errorCode,
  },
  {
    api: "DeleteGroups", grants: [[ResourceType.GROUP, "matrix-group", Op.DELETE]], denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    attempt: async (connection) => {
      const code = (await connection.request(DeleteGroupsApi, { groupsNames: ["matrix-group"] })).results[0]!.errorCode;
      // OffsetDelete (the case before) emptied it, so it may already be gone: GROUP_ID_NOT_FOUND is success here.
      return code === ErrorCode.GROUP_ID_NOT_FOUND ? ErrorCode.NONE : code;
    },
  },
  {
    api: "DescribeCluster", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.DESCRIBE]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DescribeClusterApi, { includeClusterAuthorizedOperations: true, endpointType: 1 })).errorCode,
  },
  {
    api: "DescribeAcls", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.DESCRIBE]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DescribeAclsApi, {
      resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null, operation: Op.ANY, permissionType: PermissionType.ANY,
    })).errorCode,
  },
  {
    api: "CreateAcls", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.ALTER]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(CreateAclsApi, {
      creations: [{ resourceType: ResourceType.TOPIC, resourceName: "x", resourcePatternType: PatternType.LITERAL, principal: "User:bob", host: "*", operation: Op.READ, permissionType: PermissionType.ALLOW }],
    })).results[0]!.errorCode,
  },
  {
    api: "DeleteAcls", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.ALTER]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DeleteAclsApi, {
      filters: [{ resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: "x", patternTypeFilter: PatternType.LITERAL, principalFilter: "User:bob", hostFilter: null, operation: Op.ANY, permissionType: PermissionType.ANY }],
    })).filterResults[0]!.errorCode,
  },
  {
    api: "DescribeUserScramCredentials", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.DESCRIBE]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(DescribeUserScramCredentialsApi, { users: null })).errorCode,
  },
  {
    api: "AlterUserScramCredentials", grants: [[ResourceType.CLUSTER, "kafka-cluster", Op.ALTER]], denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    attempt: async (connection) => (await connection.request(AlterUserScramCredentialsApi, {
      deletions: [], upsertions: [{ name: "carol", mechanism: 1, iterations: 4096, salt: new Uint8Array(16).fill(7), saltedPassword: new Uint8Array(32).fill(9) }],
    })).results[0]!.errorCode,
    unchanged: async () => {
      const described = await admin.request(DescribeUserScramCredentialsApi, { users: [{ name: "carol" }] });
      expect(described.results[0]!.errorCode).toBe(ErrorCode.RESOURCE_NOT_FOUND);
    },
  },
];

describe("ACL matrix: denied without the ACL (nothing changes), allowed with it", () => {
  for (const entry of cases) {
    test(entry.api, async () => {
      await revokeAll();
      expect(await entry.attempt(alice)).toBe(entry.denied);
      await entry.unchanged?.();
      for (const [resourceType, name, operation] of entry.grants) await grant(resourceType, name, operation);
      expect(await entry.attempt(alice)).toBe(ErrorCode.NONE);
    }, 20000);
  }
});

test("OffsetFetch: a named topic without DESCRIBE is TOPIC_AUTHORIZATION_FAILED; a fetch of all leaves it out", async () => {
  await revokeAll();
  expect(await commit(admin, "fetch-group")).toBe(ErrorCode.NONE);
  await grant(ResourceType.GROUP, "fetch-group", Op.DESCRIBE);
  const named = await alice.request(OffsetFetchApi, { groupId: "fetch-group", topics: [{ name: "matrix", partitionIndexes: [0] }], requireStable: false }, { version: 7 });
  expect(named.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  expect(named.topics[0]!.partitions[0]!.committedOffset).toBe(-1n);
  const all = await alice.request(OffsetFetchApi, { groupId: "fetch-group", topics: null, requireStable: false }, { version: 7 });
  expect(all.topics).toEqual([]);
  await grant(ResourceType.TOPIC, "matrix", Op.DESCRIBE);
  const allowed = await alice.request(OffsetFetchApi, { groupId: "fetch-group", topics: null, requireStable: false }, { version: 7 });
  expect(allowed.topics.map((topic) => [topic.name, topic.partitions[0]!.committedOffset])).toEqual([["matrix", 1n]]);
});

test("a DENY overrides an ALLOW; PREFIXED grants cover a family of topics", async () => {
  await revokeAll();
  await grant(ResourceType.TOPIC, "mat", Op.WRITE, PatternType.PREFIXED);
  expect(await produce(alice, "matrix")).toBe(ErrorCode.NONE);
  const denied = await admin.request(CreateAclsApi, {
    creations: [{ resourceType: ResourceType.TOPIC, resourceName: "matrix", resourcePatternType: PatternType.LITERAL, principal: "User:alice", host: "*", operation: Op.WRITE, permissionType: PermissionType.DENY }],
  });
  expect(denied.results[0]!.errorCode).toBe(ErrorCode.NONE);
  expect(await produce(alice, "matrix")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
});

test("ACLs survive a restart (they are metadata records, replayed or in the snapshot)", async () => {
  await revokeAll();
  await grant(ResourceType.TOPIC, "matrix", Op.DESCRIBE);
  alice.close();
  admin.close();
  await broker.restart();
  admin = await connectAs("admin");
  alice = await connectAs("alice");
  const listed = await admin.request(DescribeAclsApi, {
    resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: "matrix", patternTypeFilter: PatternType.MATCH, principalFilter: "User:alice", hostFilter: null, operation: Op.ANY, permissionType: PermissionType.ANY,
  });
  expect(listed.resources.flatMap((resource) => resource.acls.map((acl) => acl.operation))).toEqual([Op.DESCRIBE]);
  const response = await alice.request(ListOffsetsApi, { replicaId: -1, isolationLevel: 0, topics: [{ name: "matrix", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
  expect(response.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
}, 30000);
