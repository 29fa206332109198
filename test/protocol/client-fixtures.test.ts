// Golden fixtures (test/fixtures/requests): request frames captured from real clients (kcat, confluent-kafka-python,
// kafka-python, kafkajs, @platformatic/kafka) talking to a Runnel broker, recorded by
// scripts/capture-fixtures.ts through src/testing/recording-proxy.ts. Each frame is decoded with
// the generated codecs (header, then body): the whole frame must be consumed, the meaningful fields
// must say what the client's scenario did (topic, group, records with their keys, values and
// headers), and re-encoding the decoded value must give back the client's exact bytes.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AnyApi } from "../../src/protocol/api.ts";
import {
  type AlterConfigsRequest,
  type ApiVersionsRequest,
  apiByKey,
  ConsumerProtocolAssignmentCodec,
  ConsumerProtocolSubscriptionCodec,
  type CreatePartitionsRequest,
  type CreateTopicsRequest,
  type DeleteRecordsRequest,
  type DeleteTopicsRequest,
  type DescribeConfigsRequest,
  type FetchRequest,
  type FindCoordinatorRequest,
  type HeartbeatRequest,
  type IncrementalAlterConfigsRequest,
  type InitProducerIdRequest,
  type JoinGroupRequest,
  type LeaveGroupRequest,
  type ListOffsetsRequest,
  type MetadataRequest,
  type OffsetCommitRequest,
  type OffsetFetchRequest,
  type ProduceRequest,
  type SyncGroupRequest,
} from "../../src/protocol/generated/index.ts";
import { decodeRequestHeader, encodeRequestHeader, requestHeaderVersion } from "../../src/protocol/headers.ts";
import { Reader, Writer, ZERO_UUID } from "../../src/protocol/primitives.ts";
import { compressionNames, type CompressionCodec } from "../../src/protocol/compression.ts";
import { compressionOf, decodeRecords, splitBatches } from "../../src/protocol/record-batch.ts";

interface FixtureEntry {
  client: string;
  clientVersion: string;
  clientId: string | null;
  apiKey: number;
  api: string;
  version: number;
  headerVersion: number;
  correlationId: number;
  /** Produce only: the codec of the first batch (one fixture per codec). */
  compression?: string;
  file: string;
  bytes: number;
  contains: string;
}

interface ClientEntry {
  clientVersion: string;
  clientId: string;
  topic: string;
  group: string;
}

interface FixtureIndex {
  records: { key: string; value: string | null }[];
  compressedRecords: { key: string; value: string | null }[];
  clients: Record<string, ClientEntry>;
  fixtures: FixtureEntry[];
}

const fixturesDir = join(import.meta.dir, "../fixtures/requests");
const index = JSON.parse(readFileSync(join(fixturesDir, "index.json"), "utf8")) as FixtureIndex;
const textDecoder = new TextDecoder();

/**
 * Fixtures whose bytes do not come back identical after decode → encode, and why. Empty means every
 * captured client encodes canonically (no unknown tagged fields, no non-minimal varints, no
 * non-default values in fields a version does not carry).
 */
const nonCanonical = new Map<string, string>([]);

/** The ApiVersions v3+ software name each client announces (confluent-kafka-python sets its own). */
const softwareNames: Record<string, string> = {
  kcat: "librdkafka",
  "confluent-kafka-python": "confluent-kafka-python",
  "platformatic-kafka": "platformatic-kafka",
};

/**
 * The producer id and epoch an idempotent (non-transactional) producer sends in InitProducerId v3+.
 * Kafka's default is -1/-1 ("no producer yet"); @platformatic/kafka 2.12 sends 0/0, which a broker
 * must ignore when there is no transactional id (Kafka does: it always allocates a new id then).
 */
const initProducerIdFields: Record<string, [bigint, number]> = {
  "confluent-kafka-python": [-1n, -1],
  "platformatic-kafka": [0n, 0],
};

/** Acks the scenario's producers use (librdkafka, kafkajs and idempotent producers: all; kafka-python: 1). */
const expectedAcks: Record<string, number> = {
  kcat: -1,
  "confluent-kafka-python": -1,
  "kafka-python": 1,
  kafkajs: -1,
  "platformatic-kafka": -1,
};

/** Clients whose scenario producer is idempotent (its batches carry a producer id and sequence). */
const idempotentClients = new Set(["confluent-kafka-python", "kafkajs", "platformatic-kafka"]);

function decodeFixture(fixture: FixtureEntry) {
  const frame = new Uint8Array(readFileSync(join(fixturesDir, fixture.file)));
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader);
  const headerBytes = reader.position;
  const api = apiByKey.get(header.requestApiKey);
  if (!api) throw new Error(`API key ${header.requestApiKey} is not served`);
  const body = api.decodeRequest(reader, header.requestApiVersion);
  return { frame, reader, header, headerBytes, api, body };
}

function reencode(api: AnyApi, header: ReturnType<typeof decodeRequestHeader>, body: unknown): Uint8Array {
  const writer = new Writer(256);
  encodeRequestHeader(writer, header);
  api.encodeRequest(writer, header.requestApiVersion, body as never);
  return writer.finish();
}

/** Position of the first differing byte, for a readable failure. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) if (a[index] !== b[index]) return index;
  return a.length === b.length ? -1 : length;
}

function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : textDecoder.decode(bytes);
}

function checkProduce(fixture: FixtureEntry, client: ClientEntry, request: ProduceRequest): void {
  expect(request.transactionalId).toBeNull();
  expect(request.acks).toBe(expectedAcks[fixture.client]!);
  expect(request.timeoutMs).toBeGreaterThan(0);
  expect(request.topicData.map((topic) => topic.name)).toEqual([client.topic]);
  const partitions = request.topicData[0]!.partitionData;
  expect(partitions.map((partition) => partition.index)).toEqual([0]);
  const records = partitions[0]!.records;
  expect(records).not.toBeNull();
  // CRC-32C checked by splitBatches: the client's batch is byte-exact after our frame decoding.
  const batches = splitBatches(records!);
  expect(batches.length).toBeGreaterThanOrEqual(1);
  const compression = fixture.compression ?? "none";
  const decoded = batches.flatMap((batch) => {
    expect(batch.header.magic).toBe(2);
    expect(compressionNames[compressionOf(batch.header.attributes) as CompressionCodec]).toBe(compression);
    expect(batch.header.baseOffset).toBe(0n);
    if (idempotentClients.has(fixture.client)) {
      expect(batch.header.producerId).toBeGreaterThanOrEqual(0n);
      expect(batch.header.producerEpoch).toBeGreaterThanOrEqual(0);
    } else {
      expect(batch.header.producerId).toBe(-1n);
    }
    return decodeRecords(batch);
  });
  expect(
    decoded.map((record) => ({
      key: text(record.key),
      value: text(record.value),
      headers: record.headers.map((item) => [item.key, text(item.value)]),
    })),
  ).toEqual(
    (compression === "none" ? index.records : index.compressedRecords).map((record) => ({
      key: record.key,
      value: record.value,
      headers: [["source", client.clientId]],
    })),
  );
  // An idempotent producer's first batch starts at sequence 0 (later sends of the same producer,
  // e.g. kafkajs's and platformatic's compressed ones, continue the sequence).
  if (idempotentClients.has(fixture.client)) {
    expect(batches[0]!.header.baseSequence).toBeGreaterThanOrEqual(0);
    if (compression === "none") expect(batches[0]!.header.baseSequence).toBe(0);
  } else {
    expect(batches[0]!.header.baseSequence).toBe(-1);
  }
  expect(decoded.map((record) => record.offsetDelta)).toEqual(decoded.map((_, position) => position));
}

function checkFetch(fixture: FixtureEntry, client: ClientEntry, request: FetchRequest): void {
  expect(request.replicaId).toBe(-1);
  expect(request.maxWaitMs).toBeGreaterThanOrEqual(0);
  expect(request.topics.length).toBeGreaterThanOrEqual(1);
  for (const topic of request.topics) {
    // Fetch v13+ names topics by id only.
    if (fixture.version >= 13) {
      expect(topic.topicId).not.toBe(ZERO_UUID);
      expect(topic.topic).toBe("");
    } else {
      expect(topic.topic).toBe(client.topic);
    }
    for (const partition of topic.partitions) expect(partition.fetchOffset).toBeGreaterThanOrEqual(0n);
  }
}

function checkMetadata(client: ClientEntry, request: MetadataRequest): void {
  // null (v1+) or [] (v0) asks for every topic; otherwise the client names its scenario topic.
  for (const topic of request.topics ?? []) {
    if (topic.name !== null) expect(topic.name).toBe(client.topic);
  }
}

/** JoinGroup carries the consumer protocol's subscription: an int16 version, then the struct. */
function checkJoinGroup(client: ClientEntry, request: JoinGroupRequest): void {
  expect(request.groupId).toBe(client.group);
  expect(request.protocolType).toBe("consumer");
  expect(request.protocols.length).toBeGreaterThanOrEqual(1);
  for (const protocol of request.protocols) {
    const reader = new Reader(protocol.metadata);
    const version = reader.int16();
    expect(version).toBeGreaterThanOrEqual(0);
    const subscription = ConsumerProtocolSubscriptionCodec.decode(reader, Math.min(version, ConsumerProtocolSubscriptionCodec.maxVersion));
    expect(subscription.topics).toEqual([client.topic]);
  }
}

function checkSyncGroup(client: ClientEntry, request: SyncGroupRequest): void {
  expect(request.groupId).toBe(client.group);
  // The leader (the only member here) sends the assignment: the scenario topic's partition 0.
  for (const item of request.assignments) {
    const reader = new Reader(item.assignment);
    const version = reader.int16();
    const assignment = ConsumerProtocolAssignmentCodec.decode(reader, Math.min(version, ConsumerProtocolAssignmentCodec.maxVersion));
    expect(assignment.assignedPartitions).toEqual([{ topic: client.topic, partitions: [0] }]);
  }
}

function checkOffsetFetch(fixture: FixtureEntry, client: ClientEntry, request: OffsetFetchRequest): void {
  // OffsetFetch v8+ batches groups.
  const groups = fixture.version >= 8 ? request.groups.map((group) => group.groupId) : [request.groupId];
  expect(groups).toEqual([client.group]);
}

function checkBody(fixture: FixtureEntry, body: unknown): void {
  const client = index.clients[fixture.client]!;
  switch (fixture.apiKey) {
    case 0:
      return checkProduce(fixture, client, body as ProduceRequest);
    case 1:
      return checkFetch(fixture, client, body as FetchRequest);
    case 2: {
      const request = body as ListOffsetsRequest;
      expect(request.replicaId).toBe(-1);
      expect(request.topics.map((topic) => topic.name)).toEqual([client.topic]);
      // -1 latest, -2 earliest, -3 max timestamp, or a real timestamp (0 in the scenario).
      for (const partition of request.topics[0]!.partitions) expect(partition.timestamp).toBeGreaterThanOrEqual(-3n);
      return;
    }
    case 3:
      return checkMetadata(client, body as MetadataRequest);
    case 8: {
      const request = body as OffsetCommitRequest;
      expect(request.groupId).toBe(client.group);
      expect(request.topics.map((topic) => topic.name)).toEqual([client.topic]);
      const offset = request.topics[0]!.partitions[0]!.committedOffset;
      expect(offset >= 0n && offset <= BigInt(index.records.length)).toBe(true);
      return;
    }
    case 9:
      return checkOffsetFetch(fixture, client, body as OffsetFetchRequest);
    case 10: {
      const request = body as FindCoordinatorRequest;
      const keys = fixture.version >= 4 ? request.coordinatorKeys : [request.key];
      expect(keys).toEqual([client.group]);
      expect(request.keyType).toBe(0);
      return;
    }
    case 11:
      return checkJoinGroup(client, body as JoinGroupRequest);
    case 12:
      expect((body as HeartbeatRequest).groupId).toBe(client.group);
      expect((body as HeartbeatRequest).memberId).not.toBe("");
      return;
    case 13: {
      const request = body as LeaveGroupRequest;
      expect(request.groupId).toBe(client.group);
      // LeaveGroup v3+ names the leaving members in a list.
      const members = fixture.version >= 3 ? request.members.map((member) => member.memberId) : [request.memberId];
      expect(members.length).toBe(1);
      expect(members[0]).not.toBe("");
      return;
    }
    case 14:
      return checkSyncGroup(client, body as SyncGroupRequest);
    case 18: {
      const request = body as ApiVersionsRequest;
      if (fixture.version >= 3) {
        expect(request.clientSoftwareName).toBe(softwareNames[fixture.client]!);
        expect(request.clientSoftwareVersion).toMatch(/^[0-9A-Za-z.\-]+$/);
      } else {
        expect(request.clientSoftwareName).toBe("");
      }
      return;
    }
    case 19: {
      const request = body as CreateTopicsRequest;
      expect(request.topics.map((topic) => [topic.name, topic.numPartitions])).toEqual([[client.topic, 1]]);
      expect(request.validateOnly).toBe(false);
      return;
    }
    case 20: {
      const request = body as DeleteTopicsRequest;
      // DeleteTopics v6+ sends name-or-id structs instead of names.
      const names = fixture.version >= 6 ? request.topics.map((topic) => topic.name) : request.topicNames;
      expect(names).toEqual([client.topic]);
      return;
    }
    case 21: {
      const request = body as DeleteRecordsRequest;
      expect(request.topics).toEqual([{ name: client.topic, partitions: [{ partitionIndex: 0, offset: 1n }] }]);
      return;
    }
    case 22: {
      const request = body as InitProducerIdRequest;
      expect(request.transactionalId).toBeNull();
      if (fixture.version >= 3) expect([request.producerId, request.producerEpoch]).toEqual(initProducerIdFields[fixture.client]!);
      return;
    }
    case 32: {
      const request = body as DescribeConfigsRequest;
      expect(request.resources.map((resource) => [resource.resourceType, resource.resourceName])).toEqual([[2, client.topic]]);
      return;
    }
    case 33: {
      const request = body as AlterConfigsRequest;
      expect(request.resources).toEqual([{ resourceType: 2, resourceName: client.topic, configs: [{ name: "retention.ms", value: "3600000" }] }]);
      return;
    }
    case 37: {
      const request = body as CreatePartitionsRequest;
      expect(request.topics.map((topic) => [topic.name, topic.count])).toEqual([[client.topic, 2]]);
      return;
    }
    case 44: {
      const request = body as IncrementalAlterConfigsRequest;
      expect(request.resources).toEqual([
        { resourceType: 2, resourceName: client.topic, configs: [{ name: "retention.ms", configOperation: 0, value: "3600000" }] },
      ]);
      return;
    }
    default:
      throw new Error(`no spot check for API key ${fixture.apiKey}: add one`);
  }
}

test("the fixture index lists every client and at least one fixture each", () => {
  const clients = ["kcat", "confluent-kafka-python", "kafka-python", "kafkajs", "platformatic-kafka"];
  expect(Object.keys(index.clients).sort()).toEqual([...clients].sort());
  for (const client of clients) {
    const apis = new Set(index.fixtures.filter((fixture) => fixture.client === client).map((fixture) => fixture.apiKey));
    // Every client at least negotiated, asked for metadata, produced, fetched and listed offsets.
    for (const apiKey of [18, 3, 0, 1, 2]) expect(apis.has(apiKey) ? `${client} ${apiKey}` : `${client} lacks ${apiKey}`).toBe(`${client} ${apiKey}`);
  }
});

for (const client of Object.keys(index.clients)) {
  describe(client, () => {
    for (const fixture of index.fixtures.filter((entry) => entry.client === client)) {
      const name = `${fixture.api} v${fixture.version}${fixture.compression && fixture.compression !== "none" ? ` ${fixture.compression}` : ""}`;

      test(`${name}: header and body decode and consume the whole frame`, () => {
        const { frame, reader, header, headerBytes, body } = decodeFixture(fixture);
        expect(frame.length).toBe(fixture.bytes);
        expect(header.requestApiKey).toBe(fixture.apiKey);
        expect(header.requestApiVersion).toBe(fixture.version);
        expect(header.correlationId).toBe(fixture.correlationId);
        expect(header.clientId).toBe(index.clients[client]!.clientId);
        expect(requestHeaderVersion(fixture.apiKey, fixture.version)).toBe(fixture.headerVersion);
        // Header v1: 2 + 2 + 4 + (2 + client id); v2 adds an (empty) tagged-field section.
        const clientIdBytes = new TextEncoder().encode(header.clientId ?? "").length;
        expect(headerBytes).toBe(10 + clientIdBytes + (fixture.headerVersion === 2 ? 1 : 0));
        expect(reader.remaining).toBe(0);
        checkBody(fixture, body);
      });

      test(`${name}: re-encoding gives the client's bytes`, () => {
        const { frame, header, api, body } = decodeFixture(fixture);
        const again = reencode(api, header, body);
        const reason = nonCanonical.get(fixture.file);
        if (reason !== undefined) {
          expect(Buffer.from(again).equals(Buffer.from(frame))).toBe(false);
          return;
        }
        const at = firstDifference(again, frame);
        expect(at === -1 ? "identical" : `differs at byte ${at} of ${frame.length} (re-encoded ${again.length})`).toBe("identical");
      });
    }
  });
}
