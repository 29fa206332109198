import { expect, test } from "bun:test";
import { createRequire } from "node:module";
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "../../src/protocol/consumer-protocol.ts";

const require = createRequire(import.meta.url);

test("subscription and assignment round-trip with their version prefix", () => {
  const subscription = encodeSubscription(3, { topics: ["a", "b"], ownedPartitions: [{ topic: "a", partitions: [0, 2] }], generationId: 4, rackId: "r1" });
  expect(decodeSubscription(subscription)).toEqual({
    version: 3,
    value: { topics: ["a", "b"], userData: null, ownedPartitions: [{ topic: "a", partitions: [0, 2] }], generationId: 4, rackId: "r1" },
  });
  const assignment = encodeAssignment(0, { assignedPartitions: [{ topic: "a", partitions: [1] }], userData: new Uint8Array([9]) });
  expect(decodeAssignment(assignment).value.assignedPartitions).toEqual([{ topic: "a", partitions: [1] }]);
});

test("a newer version is read with the newest layout we know, trailing bytes ignored", () => {
  const bytes = encodeSubscription(3, { topics: ["t"], rackId: "r" });
  const newer = new Uint8Array([...bytes, 1, 2, 3]);
  new DataView(newer.buffer).setInt16(0, 9);
  expect(decodeSubscription(newer)).toEqual({ version: 9, value: { topics: ["t"], userData: null, ownedPartitions: [], generationId: -1, rackId: "r" } });
});

test("kafkajs's member metadata and assignment (consumer protocol v0/v1) decode", () => {
  const { AssignerProtocol } = require("kafkajs");
  const metadata = AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ["x", "y"], userData: Buffer.from("u") });
  expect(decodeSubscription(new Uint8Array(metadata)).value.topics).toEqual(["x", "y"]);
  const assignment = AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: { x: [0, 1] }, userData: Buffer.alloc(0) });
  expect(decodeAssignment(new Uint8Array(assignment)).value.assignedPartitions).toEqual([{ topic: "x", partitions: [0, 1] }]);
});
