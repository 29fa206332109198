// Metadata records (src/cluster/records.ts): the JSON value of each record type round-trips, int64
// fields travel as decimal strings, and anything malformed or foreign is refused by name.

import { expect, test } from "bun:test";
import {
  decodeRecord,
  decodeRecordJson,
  encodeRecord,
  encodeRecordJson,
  MetadataRecordError,
  record,
  type MetadataRecord,
} from "../../src/cluster/records.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";

const topicId = randomUuid();

const samples: MetadataRecord[] = [
  record("RegisterBrokerRecord", {
    brokerId: 1, incarnationId: randomUuid(), brokerEpoch: 9007199254740993n,
    endPoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9092, securityProtocol: 0 }],
    rack: null, fenced: true, inControlledShutdown: false, cleanShutdown: true,
  }),
  record("BrokerRegistrationChangeRecord", { brokerId: 1, brokerEpoch: 5n, fenced: false }),
  record("UnregisterBrokerRecord", { brokerId: 1, brokerEpoch: 5n }),
  record("TopicRecord", { name: "orders", topicId }),
  record("PartitionRecord", {
    partitionId: 0, topicId, replicas: [1, 2, 3], isr: [1, 2], removingReplicas: [], addingReplicas: [],
    leader: 1, leaderEpoch: 4, partitionEpoch: 7,
  }),
  record("PartitionChangeRecord", { partitionId: 0, topicId, isr: [1], leader: -1 }),
  record("ConfigRecord", { resourceType: 2, resourceName: "orders", name: "retention.ms", value: null }),
  record("RemoveTopicRecord", { topicId }),
  record("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 5n, nextProducerId: 2000n }),
  record("NoOpRecord", {}),
];

test("every record type round-trips through its JSON value", () => {
  for (const sample of samples) expect(decodeRecord(encodeRecord(sample))).toEqual(sample);
});

test("the value is readable JSON with int64 fields as decimal strings", () => {
  const text = encodeRecordJson(samples[0]!);
  expect(JSON.parse(text)).toMatchObject({ type: "RegisterBrokerRecord", version: 0, data: { brokerEpoch: "9007199254740993", brokerId: 1 } });
  expect(encodeRecordJson(samples[3]!)).toBe(`{"type":"TopicRecord","version":0,"data":{"name":"orders","topicId":"${topicId}"}}`);
});

test("malformed or foreign records are refused with the reason", () => {
  const refuse = (text: string, reason: RegExp) => {
    expect(() => decodeRecordJson(text)).toThrow(MetadataRecordError);
    expect(() => decodeRecordJson(text)).toThrow(reason);
  };
  refuse("{", /not JSON/);
  refuse("[]", /unknown record type/);
  refuse(`{"type":"FeatureLevelRecord","version":0,"data":{}}`, /unknown record type/);
  refuse(`{"type":"TopicRecord","version":1,"data":{"name":"a","topicId":"${topicId}"}}`, /unknown version/);
  refuse(`{"type":"TopicRecord","version":0,"data":{"name":"a"}}`, /missing field topicId/);
  refuse(`{"type":"TopicRecord","version":0,"data":{"name":"a","topicId":"nope"}}`, /topicId/);
  refuse(`{"type":"TopicRecord","version":0,"data":{"name":"a","topicId":"${topicId}","extra":1}}`, /unknown field extra/);
  refuse(`{"type":"ProducerIdsRecord","version":0,"data":{"brokerId":1,"brokerEpoch":5,"nextProducerId":"1"}}`, /brokerEpoch/);
  refuse(`{"type":"PartitionChangeRecord","version":0,"data":{"partitionId":0,"topicId":"${topicId}","isr":[1.5]}}`, /isr/);
  refuse(`{"type":"PartitionChangeRecord","version":0,"data":{"partitionId":4294967296,"topicId":"${topicId}"}}`, /partitionId/);
  expect(() => decodeRecord(new Uint8Array([0xff, 0xfe]))).toThrow(/UTF-8/);
});
