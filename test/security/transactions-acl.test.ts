// ACLs on the transaction APIs, as Kafka checks them: a SASL/SCRAM user (alice) runs a transaction
// at the protocol level and meets each required ACL in turn — WRITE on the transactional id
// (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn, Produce with the
// id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED), WRITE on the topic (AddPartitionsToTxn:
// TOPIC_AUTHORIZATION_FAILED), READ on the group (AddOffsetsToTxn, TxnOffsetCommit:
// GROUP_AUTHORIZATION_FAILED), READ on the topic (TxnOffsetCommit, DescribeProducers) and DESCRIBE
// on the id (DescribeTransactions; ListTransactions lists only those). Each refusal changes nothing.

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import {
  AddOffsetsToTxnApi, AddPartitionsToTxnApi, CreateAclsApi, CreateTopicsApi, DescribeProducersApi, DescribeTransactionsApi, EndTxnApi,
  FindCoordinatorApi, InitProducerIdApi, ListTransactionsApi, ProduceApi, TxnOffsetCommitApi,
} from "../../src/protocol/generated/index.ts";
import { Attribute, encodeBatch } from "../../src/protocol/record-batch.ts";
import { AclOperation as Op, PatternType, PermissionType, ResourceType } from "../../src/security/acl.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

let broker: Broker;
let admin: KafkaConnection;
let alice: KafkaConnection;

const connectAs = (user: string) => connectTo(broker.listeners.get("SASL_PLAINTEXT")!, "txn-acl", {
  security: { sasl: { mechanism: "SCRAM-SHA-256", username: user, password: `${user}-secret` } },
});

beforeAll(async () => {
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
      "bootstrap.scram.users": "SCRAM-SHA-256=[name=admin,password=admin-secret,iterations=4096];SCRAM-SHA-256=[name=alice,password=alice-secret,iterations=4096]",
      "super.users": "User:admin",
      "offsets.topic.num.partitions": 1,
      "transaction.state.log.num.partitions": 1,
    },
  });
  admin = await connectAs("admin");
  alice = await connectAs("alice");
  const created = await admin.request(CreateTopicsApi, {
    topics: ["txn-acl", "txn-secret"].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
    timeoutMs: 10000, validateOnly: false,
  });
  expect(created.topics.map((topic) => topic.errorCode)).toEqual([0, 0]);
}, 30000);

afterAll(async () => {
  alice?.close();
  admin?.close();
  await broker?.stop();
});

async function grant(resourceType: number, resourceName: string, operation: number): Promise<void> {
  const response = await admin.request(CreateAclsApi, {
    creations: [{ resourceType, resourceName, resourcePatternType: PatternType.LITERAL, principal: "User:alice", host: "*", operation, permissionType: PermissionType.ALLOW }],
  });
  expect(response.results[0]!.errorCode).toBe(ErrorCode.NONE);
}

const retriable = new Set<number>([ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR, ErrorCode.CONCURRENT_TRANSACTIONS]);

/** Repeats a request while it answers a retriable coordinator error (the state topic being created or loaded), bounded. */
async function settled<T>(attempt: () => Promise<T>, errorOf: (answer: T) => number): Promise<T> {
  const deadline = Date.now() + 20000;
  for (;;) {
    const answer = await attempt();
    if (!retriable.has(errorOf(answer)) || Date.now() > deadline) return answer;
    await Bun.sleep(50);
  }
}

const initProducerId = (connection: KafkaConnection, transactionalId: string) => settled(
  () => connection.request(InitProducerIdApi, { transactionalId, transactionTimeoutMs: 60000, producerId: -1n, producerEpoch: -1 }),
  (answer) => answer.errorCode,
);

const addPartitions = async (transactionalId: string, producer: { producerId: bigint; producerEpoch: number }, topic: string) => (await alice.request(AddPartitionsToTxnApi, {
  transactions: [], v3AndBelowTransactionalId: transactionalId, v3AndBelowProducerId: producer.producerId, v3AndBelowProducerEpoch: producer.producerEpoch,
  v3AndBelowTopics: [{ name: topic, partitions: [0] }],
}, { version: 3 })).resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode;

const addOffsets = async (transactionalId: string, producer: { producerId: bigint; producerEpoch: number }, groupId: string) => (await alice.request(AddOffsetsToTxnApi, {
  transactionalId, producerId: producer.producerId, producerEpoch: producer.producerEpoch, groupId,
})).errorCode;

const txnOffsetCommit = async (transactionalId: string, producer: { producerId: bigint; producerEpoch: number }, groupId: string, topic: string) => (await alice.request(TxnOffsetCommitApi, {
  transactionalId, groupId, producerId: producer.producerId, producerEpoch: producer.producerEpoch, generationId: -1, memberId: "", groupInstanceId: null,
  topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: "" }] }],
})).topics[0]!.partitions[0]!.errorCode;

const produce = async (transactionalId: string, producer: { producerId: bigint; producerEpoch: number }) => (await alice.request(ProduceApi, {
  transactionalId, acks: -1, timeoutMs: 5000,
  topicData: [{
    name: "txn-acl",
    partitionData: [{
      index: 0,
      records: encodeBatch(
        [{ offset: 0n, timestamp: BigInt(Date.now()), key: null, value: new TextEncoder().encode("in a transaction"), headers: new Uint8Array([0]) }],
        { attributes: Attribute.transactional, producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: 0, partitionLeaderEpoch: -1 },
      ),
    }],
  }],
})).responses[0]!.partitionResponses[0]!.errorCode;

test("every transaction API answers Kafka's authorization error without its ACL and works with it", async () => {
  // The id's coordinator exists before alice starts (the state topic is created on first use).
  const adminProducer = await initProducerId(admin, "tx-admin");
  expect(adminProducer.errorCode).toBe(ErrorCode.NONE);

  // InitProducerId and FindCoordinator: WRITE / DESCRIBE on the transactional id.
  expect((await initProducerId(alice, "tx-alice")).errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const found = await alice.request(FindCoordinatorApi, { key: "tx-alice", keyType: 1, coordinatorKeys: [] }, { version: 3 });
  expect(found.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  await grant(ResourceType.TRANSACTIONAL_ID, "tx-alice", Op.WRITE);
  const producer = await initProducerId(alice, "tx-alice");
  expect(producer.errorCode).toBe(ErrorCode.NONE);

  // AddPartitionsToTxn: WRITE on the topic; another principal's id is refused whole.
  expect(await addPartitions("tx-admin", adminProducer, "txn-acl")).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  expect(await addPartitions("tx-alice", producer, "txn-acl")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  expect((await admin.request(DescribeTransactionsApi, { transactionalIds: ["tx-alice"] })).transactionStates[0]!.transactionState).toBe("Empty");
  await grant(ResourceType.TOPIC, "txn-acl", Op.WRITE);
  expect(await addPartitions("tx-alice", producer, "txn-acl")).toBe(ErrorCode.NONE);

  // Produce with a transactional id: WRITE on that id.
  expect(await produce("tx-admin", producer)).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  expect(await produce("tx-alice", producer)).toBe(ErrorCode.NONE);

  // AddOffsetsToTxn and TxnOffsetCommit: READ on the group, TxnOffsetCommit READ on the topic.
  expect(await addOffsets("tx-alice", producer, "txn-acl-group")).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  expect(await addOffsets("tx-admin", adminProducer, "txn-acl-group")).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  await grant(ResourceType.GROUP, "txn-acl-group", Op.READ);
  expect(await addOffsets("tx-alice", producer, "txn-acl-group")).toBe(ErrorCode.NONE);
  expect(await txnOffsetCommit("tx-alice", producer, "txn-acl-group", "txn-acl")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  expect(await txnOffsetCommit("tx-admin", adminProducer, "txn-acl-group", "txn-acl")).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  expect(await txnOffsetCommit("tx-alice", producer, "other-group", "txn-acl")).toBe(ErrorCode.GROUP_AUTHORIZATION_FAILED);
  await grant(ResourceType.TOPIC, "txn-acl", Op.READ);
  expect(await txnOffsetCommit("tx-alice", producer, "txn-acl-group", "txn-acl")).toBe(ErrorCode.NONE);

  // EndTxn: WRITE on the id (the admin's transaction is not touched).
  const endTxn = (transactionalId: string, ids: { producerId: bigint; producerEpoch: number }) =>
    settled(() => alice.request(EndTxnApi, { transactionalId, producerId: ids.producerId, producerEpoch: ids.producerEpoch, committed: true }), (answer) => answer.errorCode);
  expect((await endTxn("tx-admin", adminProducer)).errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  expect((await endTxn("tx-alice", producer)).errorCode).toBe(ErrorCode.NONE);

  // DescribeTransactions / ListTransactions: DESCRIBE (implied by WRITE) on each id.
  const described = await alice.request(DescribeTransactionsApi, { transactionalIds: ["tx-alice", "tx-admin"] });
  expect(described.transactionStates.map((state) => [state.transactionalId, state.errorCode, state.transactionState])).toEqual([
    ["tx-alice", ErrorCode.NONE, "CompleteCommit"],
    ["tx-admin", ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ""],
  ]);
  const listed = await alice.request(ListTransactionsApi, { stateFilters: [], producerIdFilters: [], durationFilter: -1n });
  expect(listed.transactionStates.map((state) => state.transactionalId)).toEqual(["tx-alice"]);
  const listedByAdmin = await admin.request(ListTransactionsApi, { stateFilters: [], producerIdFilters: [], durationFilter: -1n });
  expect(listedByAdmin.transactionStates.map((state) => state.transactionalId).sort()).toEqual(["tx-admin", "tx-alice"]);

  // DescribeProducers: READ on the topic.
  const producers = await alice.request(DescribeProducersApi, { topics: [{ name: "txn-acl", partitionIndexes: [0] }, { name: "txn-secret", partitionIndexes: [0] }] });
  expect(producers.topics.map((topic) => topic.partitions[0]!.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.TOPIC_AUTHORIZATION_FAILED]);
}, 60000);
