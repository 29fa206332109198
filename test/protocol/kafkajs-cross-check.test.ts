// Cross-check against kafkajs 2.2.4's own request encoders (every version it implements, mostly the
// older non-flexible ones that kafkajs, kafka-python and librdkafka still send): our decoder must
// consume each body exactly, and our encoder must give back the very same bytes.

import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { apiByKey } from "../../src/protocol/generated/index.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";

const require = createRequire(import.meta.url);

const requestArgs: Record<string, unknown> = {
  fetch: {
    replicaId: -1,
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: 1048576,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: "t", partitions: [{ partition: 0, fetchOffset: "5", maxBytes: 1000 }, { partition: 2, fetchOffset: "9", maxBytes: 10 }] }],
    forgottenTopics: [],
    rackId: "",
  },
  joinGroup: {
    groupId: "g",
    sessionTimeout: 30000,
    rebalanceTimeout: 60000,
    memberId: "",
    groupInstanceId: null,
    protocolType: "consumer",
    groupProtocols: [{ name: "RoundRobinAssigner", metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 1, 116]) }],
  },
  syncGroup: { groupId: "g", generationId: 3, memberId: "m-1", groupInstanceId: null, groupAssignment: [{ memberId: "m-1", memberAssignment: Buffer.from([1, 2]) }] },
  heartbeat: { groupId: "g", groupGenerationId: 3, memberId: "m-1", groupInstanceId: null },
  offsetCommit: {
    groupId: "g",
    groupGenerationId: 3,
    memberId: "m-1",
    retentionTime: -1,
    topics: [{ topic: "t", partitions: [{ partition: 0, offset: "10", metadata: null }, { partition: 1, offset: "11", metadata: "meta" }] }],
  },
  offsetFetch: { groupId: "g", topics: [{ topic: "t", partitions: [{ partition: 0 }, { partition: 1 }] }] },
  listOffsets: { replicaId: -1, isolationLevel: 1, topics: [{ topic: "t", partitions: [{ partition: 0, timestamp: -1 }] }] },
  findCoordinator: { groupId: "g", coordinatorKey: "g", coordinatorType: 0 },
  leaveGroup: { groupId: "g", memberId: "m-1", members: [{ memberId: "m-1", groupInstanceId: null }] },
  describeGroups: { groupIds: ["g", "h"] },
  createTopics: {
    topics: [{ topic: "t", numPartitions: 3, replicationFactor: 1, replicaAssignment: [], configEntries: [{ name: "cleanup.policy", value: "compact" }] }],
    validateOnly: false,
    timeout: 5000,
  },
  deleteTopics: { topics: ["t", "u"], timeout: 5000 },
  describeConfigs: { resources: [{ type: 2, name: "t", configNames: ["retention.ms"] }], includeSynonyms: true },
  alterConfigs: { resources: [{ type: 2, name: "t", configEntries: [{ name: "retention.ms", value: "1000" }] }], validateOnly: false },
  createPartitions: { topicPartitions: [{ topic: "t", count: 4, assignments: [] }], validateOnly: false, timeout: 5000 },
  deleteRecords: { topics: [{ topic: "t", partitions: [{ partition: 0, offset: "5" }] }], timeout: 5000 },
  initProducerId: { transactionalId: null, transactionTimeout: 30000 },
  metadata: { topics: ["t", "u"], allowAutoTopicCreation: true },
  produce: {
    acks: -1,
    timeout: 30000,
    compression: 0,
    transactionalId: null,
    producerId: -1,
    producerEpoch: 0,
    topicData: [{ topic: "t", partitions: [{ partition: 0, firstSequence: 0, messages: [{ key: "k", value: "v", timestamp: 1700000000000 }] }] }],
  },
  apiVersions: {},
  listGroups: {},
  deleteGroups: ["g"],
};

describe("kafkajs request encoders → our decoders → the same bytes", () => {
  let checked = 0;
  for (const [directory, args] of Object.entries(requestArgs)) {
    test(directory, async () => {
      const { protocol, versions } = require(`kafkajs/src/protocol/requests/${directory}/index.js`);
      for (const version of versions.map(Number)) {
        const { request } = protocol({ version })(args);
        const body: Buffer = (await request.encode()).buffer;
        const api = apiByKey.get(request.apiKey)!;
        expect(request.apiVersion).toBe(version);
        const reader = new Reader(new Uint8Array(body));
        const decoded = api.decodeRequest(reader, version);
        expect(reader.remaining).toBe(0);
        const writer = new Writer();
        api.encodeRequest(writer, version, decoded);
        expect(Buffer.from(writer.finish()).toString("hex")).toBe(body.toString("hex"));
        checked++;
      }
    });
  }
  test("checked every version kafkajs implements", () => {
    expect(checked).toBeGreaterThan(60);
  });
});
