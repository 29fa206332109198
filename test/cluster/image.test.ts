// The metadata image (src/cluster/image.ts): records applied purely, Kafka's replay rules (leader
// epoch bumped by a leader change, partition epoch by every change, configs removed with their
// topic), deltas that name what changed, and records that do not fit refused with the image kept.

import { expect, test } from "bun:test";
import { applyRecords, emptyImage, liveBrokers, mergeDelta, emptyDelta, partitionOf, type MetadataImage } from "../../src/cluster/image.ts";
import { record, type MetadataRecord } from "../../src/cluster/records.ts";
import { randomUuid } from "../../src/protocol/primitives.ts";
import { AssertionError } from "../../src/util/assert.ts";

function broker(brokerId: number, brokerEpoch: bigint, fenced = false): MetadataRecord {
  return record("RegisterBrokerRecord", {
    brokerId, incarnationId: randomUuid(), brokerEpoch, rack: null, fenced, inControlledShutdown: false, cleanShutdown: true,
    endPoints: [{ name: "PLAINTEXT", host: "127.0.0.1", port: 9000 + brokerId, securityProtocol: 0 }],
  });
}

function topic(name: string, id: string, partitions: number, replicas = [1]): MetadataRecord[] {
  return [
    record("TopicRecord", { name, topicId: id }),
    ...Array.from({ length: partitions }, (_, partitionId) => record("PartitionRecord", {
      partitionId, topicId: id, replicas, isr: replicas, removingReplicas: [], addingReplicas: [],
      leader: replicas[0]!, leaderEpoch: 0, partitionEpoch: 0,
    })),
  ];
}

test("topics, partitions and configs; the old image is left as it was", () => {
  const ordersId = randomUuid();
  const first = applyRecords(emptyImage, [broker(1, 0n), ...topic("orders", ordersId, 3)], { offset: 3n, epoch: 1 });
  const image = first.image;
  expect(image.offset).toBe(3n);
  expect(image.topicsByName.get("orders")?.id).toBe(ordersId);
  expect(image.topicsById.get(ordersId)?.partitions.map((partition) => partition.leader)).toEqual([1, 1, 1]);
  expect([...first.delta.createdTopics]).toEqual([ordersId]);
  expect([...first.delta.changedPartitions.get(ordersId)!]).toEqual([0, 1, 2]);
  expect([...first.delta.changedBrokers]).toEqual([1]);
  expect(emptyImage.topicsByName.size).toBe(0);

  const configured = applyRecords(image, [
    record("ConfigRecord", { resourceType: 2, resourceName: "orders", name: "retention.ms", value: "1000" }),
    record("ConfigRecord", { resourceType: 2, resourceName: "orders", name: "cleanup.policy", value: "compact" }),
    record("ConfigRecord", { resourceType: 2, resourceName: "orders", name: "cleanup.policy", value: null }),
  ], { offset: 6n, epoch: 1 });
  expect(configured.image.topicsByName.get("orders")?.configs).toEqual({ "retention.ms": "1000" });
  expect([...configured.delta.changedTopicConfigs]).toEqual(["orders"]);
  expect(configured.delta.changedPartitions.size).toBe(0);
  expect(image.topicsByName.get("orders")?.configs).toEqual({});
  // Untouched parts are shared, not copied.
  expect(configured.image.brokers).toBe(image.brokers);
});

test("a leader change bumps the leader epoch, every change the partition epoch", () => {
  const id = randomUuid();
  let { image } = applyRecords(emptyImage, [broker(1, 0n), broker(2, 1n), ...topic("t", id, 1, [1, 2])], { offset: 3n, epoch: 1 });
  ({ image } = applyRecords(image, [record("PartitionChangeRecord", { partitionId: 0, topicId: id, isr: [1] })], { offset: 4n, epoch: 1 }));
  expect(partitionOf(image, "t", 0)).toMatchObject({ leader: 1, leaderEpoch: 0, partitionEpoch: 1, isr: [1] });
  ({ image } = applyRecords(image, [record("PartitionChangeRecord", { partitionId: 0, topicId: id, leader: -1 })], { offset: 5n, epoch: 1 }));
  expect(partitionOf(image, "t", 0)).toMatchObject({ leader: -1, leaderEpoch: 1, partitionEpoch: 2 });
  ({ image } = applyRecords(image, [record("PartitionChangeRecord", { partitionId: 0, topicId: id, leader: 1 })], { offset: 6n, epoch: 1 }));
  expect(partitionOf(image, "t", 0)).toMatchObject({ leader: 1, leaderEpoch: 2, partitionEpoch: 3 });
});

test("removing a topic takes its partitions and configs; the delta keeps its last registration", () => {
  const id = randomUuid();
  let { image } = applyRecords(emptyImage, [...topic("gone", id, 2), record("ConfigRecord", { resourceType: 2, resourceName: "gone", name: "retention.ms", value: "5" })], { offset: 3n, epoch: 1 });
  const removed = applyRecords(image, [record("RemoveTopicRecord", { topicId: id })], { offset: 4n, epoch: 1 });
  expect(removed.image.topicsByName.has("gone")).toBe(false);
  expect(removed.image.topicsById.has(id)).toBe(false);
  expect(removed.delta.deletedTopics.get(id)?.partitions.length).toBe(2);
  // The name is free again, with a new id and no old configs.
  const newId = randomUuid();
  ({ image } = applyRecords(removed.image, topic("gone", newId, 1), { offset: 6n, epoch: 1 }));
  expect(image.topicsByName.get("gone")).toMatchObject({ id: newId, configs: {} });
  // Created and removed within one apply: absent, named in both sets of the delta.
  const flashId = randomUuid();
  const flash = applyRecords(image, [...topic("flash", flashId, 1), record("RemoveTopicRecord", { topicId: flashId })], { offset: 9n, epoch: 1 });
  expect(flash.image.topicsByName.has("flash")).toBe(false);
  expect(flash.delta.createdTopics.has(flashId) && flash.delta.deletedTopics.has(flashId)).toBe(true);
});

test("brokers: registration, fencing, unregistration; producer id blocks move forward only", () => {
  let { image } = applyRecords(emptyImage, [broker(1, 0n, true), broker(2, 1n)], { offset: 1n, epoch: 1 });
  expect(liveBrokers(image).map((registration) => registration.id)).toEqual([2]);
  ({ image } = applyRecords(image, [record("BrokerRegistrationChangeRecord", { brokerId: 1, brokerEpoch: 0n, fenced: false })], { offset: 2n, epoch: 1 }));
  expect(liveBrokers(image).map((registration) => registration.id)).toEqual([1, 2]);
  ({ image } = applyRecords(image, [record("UnregisterBrokerRecord", { brokerId: 2, brokerEpoch: 1n })], { offset: 3n, epoch: 1 }));
  expect([...image.brokers.keys()]).toEqual([1]);
  ({ image } = applyRecords(image, [record("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 0n, nextProducerId: 1000n })], { offset: 4n, epoch: 1 }));
  expect(image.nextProducerId).toBe(1000n);
  expect(() => applyRecords(image, [record("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 0n, nextProducerId: 1000n })])).toThrow(AssertionError);
});

test("records that do not fit the image throw and change nothing", () => {
  const id = randomUuid();
  const { image } = applyRecords(emptyImage, topic("t", id, 1), { offset: 1n, epoch: 1 });
  const bad: MetadataRecord[][] = [
    topic("t", randomUuid(), 1), // the name exists
    [record("TopicRecord", { name: "other", topicId: id })], // the id exists
    [record("PartitionRecord", { partitionId: 2, topicId: id, replicas: [1], isr: [1], removingReplicas: [], addingReplicas: [], leader: 1, leaderEpoch: 0, partitionEpoch: 0 })],
    [record("PartitionChangeRecord", { partitionId: 0, topicId: randomUuid(), leader: 1 })],
    [record("PartitionChangeRecord", { partitionId: 0, topicId: id, isr: [2] })], // ISR outside the replicas
    [record("ConfigRecord", { resourceType: 2, resourceName: "missing", name: "retention.ms", value: "1" })],
    [record("BrokerRegistrationChangeRecord", { brokerId: 9, brokerEpoch: 0n, fenced: false })],
    [record("RemoveTopicRecord", { topicId: randomUuid() })],
  ];
  for (const records of bad) expect(() => applyRecords(image, records)).toThrow(AssertionError);
  expect(image.topicsByName.get("t")?.partitions.length).toBe(1);
});

test("a topic of 10,000 partitions applies in one batch; deltas merge by union", () => {
  const id = randomUuid();
  const big = applyRecords(emptyImage, topic("big", id, 10_000), { offset: 10_000n, epoch: 1 });
  expect(big.image.topicsByName.get("big")?.partitions.length).toBe(10_000);
  const merged = emptyDelta();
  mergeDelta(merged, big.delta);
  const next = applyRecords(big.image, [record("PartitionChangeRecord", { partitionId: 7, topicId: id, leader: 1 })], { offset: 10_001n, epoch: 1 });
  mergeDelta(merged, next.delta);
  expect(merged.changedPartitions.get(id)?.size).toBe(10_000);
  expect(merged.createdTopics.has(id)).toBe(true);
  const images: MetadataImage[] = [big.image, next.image];
  expect(images[0]!.topicsByName.get("big")?.partitions[7]?.leaderEpoch).toBe(0);
  expect(images[1]!.topicsByName.get("big")?.partitions[7]?.leaderEpoch).toBe(1);
});
