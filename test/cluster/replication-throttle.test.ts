// The leader side of leader.replication.throttled.rate (src/kafka/replica-fetch.ts): a replica fetch
// for a partition being added by a reassignment, parked at the leader while the quota is spent, must
// wait without holding the broker. Regression: the long poll woke at once for the withheld
// partition (its log end was already past the fetch offset: a synchronous wake) and looped without
// yielding until replica.fetch.wait.max.ms — every client of that broker (and its Raft duties)
// stalled, which bench/elastic.ts saw as a 1-2 s produce stall of the whole cluster on a join.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { alterPartitionReassignments, KafkaClient } from "../../src/client/index.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { CreateTopicsApi, FetchApi, MetadataApi, ProduceApi } from "../../src/protocol/generated/index.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const topic = "throttled-move";
let cluster: TestCluster;
const open: KafkaConnection[] = [];

beforeAll(async () => {
  // One byte per second: after the first batch the quota stays spent for the whole test.
  cluster = await startCluster({ nodes: 3, set: { "leader.replication.throttled.rate": 1, "follower.replication.throttled.rate": 1, "offsets.topic.num.partitions": 1 } });
});

afterAll(async () => {
  for (const connection of open) connection.close();
  await cluster?.close();
});

async function connect(id: number): Promise<KafkaConnection> {
  const connection = await KafkaConnection.connect({ host: "127.0.0.1", port: cluster.node(id).kafkaPort, clientId: "throttle-test", requestTimeoutMs: 10_000, connectTimeoutMs: 5000 });
  open.push(connection);
  return connection;
}

/** A replica Fetch of `topic`-0 from offset 0 as broker 2 would send it (v12: replicaId in the request). */
function replicaFetch(connection: KafkaConnection, maxWaitMs: number) {
  return connection.request(FetchApi, {
    replicaId: 2, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: "", forgottenTopicsData: [],
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
  } as Parameters<KafkaConnection["request"]>[1], { version: 12, timeoutMs: 20_000 });
}

test("a throttled replica fetch parked at the leader leaves the leader serving other requests", async () => {
  const admin = await connect(1);
  const created = await admin.request(CreateTopicsApi, {
    topics: [{ name: topic, numPartitions: -1, replicationFactor: -1, assignments: [1, 2, 3].map((id, index) => ({ partitionIndex: index, brokerIds: [id] })), configs: [] }],
    timeoutMs: 10_000, validateOnly: false,
  });
  expect(created.topics.map((entry) => entry.errorCode)).toEqual([ErrorCode.NONE]);
  await cluster.waitFor(`${topic}-0 led by broker 1`, async () => ((await cluster.metadata(1)).topics.find((entry) => entry.name === topic)?.partitions.find((p) => p.partitionIndex === 0)?.leaderId === 1 ? true : undefined));
  for (let batchNumber = 1; batchNumber <= 5; batchNumber++) {
    const produced = await admin.request(ProduceApi, {
      transactionalId: null, acks: 1, timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: buildBatch({ batchNumber, recordCount: 4, valueBytes: 256 }) }] }],
    });
    expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
  }
  // Broker 2 becomes an adding replica of topic-0: its fetches are throttled at broker 1.
  const client = new KafkaClient({ bootstrap: `127.0.0.1:${cluster.node(1).kafkaPort}`, clientId: "throttle-test" });
  try {
    const outcomes = await alterPartitionReassignments(client, [{ topic, partition: 0, replicas: [1, 2] }]);
    expect(outcomes.map((outcome) => outcome.errorCode)).toEqual([ErrorCode.NONE]);
  } finally {
    await client.close();
  }
  const fetcher = await connect(1);
  // Spend what the quota holds (broker 2's own fetcher may have already): fetch until one is withheld.
  await cluster.waitFor("a replica fetch of the moving partition withheld", async () => {
    const answer = await replicaFetch(fetcher, 0);
    const records = answer.responses[0]?.partitions[0]?.records;
    return answer.errorCode === ErrorCode.NONE && (records === null || records === undefined || records.length === 0) ? true : undefined;
  });
  // Parked for 1.5 s with the quota spent: meanwhile the leader keeps answering Metadata.
  let parked = true;
  const fetching = replicaFetch(fetcher, 1500).finally(() => void (parked = false));
  const other = await connect(1);
  let answeredWhileParked = 0;
  while (parked) {
    await other.request(MetadataApi, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, { version: 9 });
    if (parked) answeredWhileParked += 1;
  }
  const answer = await fetching;
  expect(answer.errorCode).toBe(ErrorCode.NONE);
  expect(answer.responses[0]!.partitions[0]!.records?.length ?? 0).toBe(0);
  // Without the fix the leader looped for the whole wait: at most the one request that came first.
  expect(answeredWhileParked).toBeGreaterThanOrEqual(3);
}, 60_000);
