// Cross-check of the request direction against @platformatic/kafka's hand-written request encoders
// (the client that uses the newest, flexible versions: Fetch 12-17, Metadata 9-12, JoinGroup 6-9…):
// our decoder must consume each request body exactly, and our encoder must give back the same
// bytes. Together with kafkajs-cross-check.test.ts (older versions) this covers what clients send.

import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { kebabCase } from "../../scripts/gen-protocol.ts";
import { allApis } from "../../src/protocol/generated/index.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";

const require = createRequire(import.meta.url);
const platformaticRoot = dirname(require.resolve("@platformatic/kafka/package.json"));
const apisDirectory = join(platformaticRoot, "dist/apis");
const topicId = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

/** Positional createRequest arguments per API (the same for every version of it). */
const requestArgs: Record<string, unknown[]> = {
  fetch: [
    500,
    1,
    1048576,
    1,
    7,
    3,
    [{ topic: "t", topicId, partitions: [{ partition: 0, currentLeaderEpoch: 4, fetchOffset: 10n, lastFetchedEpoch: 3, partitionMaxBytes: 1000 }] }],
    [{ topic: "f", topicId, partitions: [1, 2] }],
    "rack-a",
  ],
  metadata: [["t", "u"], true, false, false],
  "join-group": ["g", 30000, 60000, "m-1", null, "consumer", [{ name: "roundrobin", metadata: Buffer.from([0, 1, 2]) }], "why"],
  "sync-group": ["g", 3, "m-1", null, "consumer", "roundrobin", [{ memberId: "m-1", assignment: Buffer.from([5, 6]) }]],
  heartbeat: ["g", 3, "m-1", null],
  "leave-group": ["g", [{ memberId: "m-1", groupInstanceId: null, reason: "bye" }]],
  "offset-commit": ["g", 3, "m-1", null, [{ name: "t", partitions: [{ partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: 2, committedMetadata: "md" }] }]],
  "offset-fetch": [[{ groupId: "g", memberId: "m-1", memberEpoch: 3, topics: [{ name: "t", partitionIndexes: [0, 1] }] }], true],
  "find-coordinator": [0, ["g"]],
  "create-topics": [
    [{ name: "t", numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: "cleanup.policy", value: "compact" }] }],
    5000,
    false,
  ],
  "delete-topics": [[{ name: "t", topicId: null }], 5000],
  "list-offsets": [-1, 1, [{ name: "t", partitions: [{ partitionIndex: 0, currentLeaderEpoch: 2, timestamp: -1n }] }]],
  "init-producer-id": [null, 30000, -1n, -1],
  "describe-configs": [[{ resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms"] }], true, false],
  "describe-groups": [["g", "h"], true],
  "list-groups": [["Stable"], ["consumer"]],
  "delete-groups": [["g"]],
  "consumer-group-heartbeat": ["g", "m-1", 0, null, null, 60000, ["t"], null, null, [{ topicId, partitions: [0] }]],
  "consumer-group-describe": [["g"], false],
  "describe-cluster": [false, 1],
  "incremental-alter-configs": [[{ resourceType: 2, resourceName: "t", configs: [{ name: "retention.ms", configOperation: 0, value: "1000" }] }], false],
  "alter-configs": [[{ resourceType: 2, resourceName: "t", configs: [{ name: "retention.ms", value: "1000" }] }], false],
  "create-partitions": [[{ name: "t", count: 4, assignments: [] }], 5000, false],
  "delete-records": [[{ name: "t", partitions: [{ partitionIndex: 0, offset: 5n }] }], 5000],
  "offset-delete": ["g", [{ name: "t", partitions: [{ partitionIndex: 0 }] }]],
  "offset-for-leader-epoch": [-1, [{ name: "t", partitions: [{ partitionIndex: 0, currentLeaderEpoch: 2, leaderEpoch: 1 }] }]],
  "api-versions": ["platformatic", "2.12.1"],
  produce: [-1, 30000, [{ topic: "t", partition: 0, key: Buffer.from("k"), value: Buffer.from("v"), timestamp: 1700000000000n }], {}],
};

function modules(): Map<string, string> {
  const found = new Map<string, string>();
  for (const group of readdirSync(apisDirectory, { withFileTypes: true })) {
    if (!group.isDirectory()) continue;
    for (const file of readdirSync(join(apisDirectory, group.name))) {
      const match = /^(.+)-v(\d+)\.js$/.exec(file);
      if (match) found.set(`${match[1]}@${match[2]}`, join(apisDirectory, group.name, file));
    }
  }
  return found;
}

describe("@platformatic/kafka request encoders → our decoders → the same bytes", () => {
  const available = modules();
  let checked = 0;
  for (const api of allApis) {
    const name = kebabCase(api.name);
    const args = requestArgs[name];
    if (!args) continue;
    test(name, () => {
      for (let version = api.minVersion; version <= api.maxVersion; version++) {
        const path = available.get(`${name}@${version}`);
        if (!path) continue;
        const { createRequest } = require(path);
        if (typeof createRequest !== "function") continue;
        const body: Buffer = createRequest(...structuredClone(args)).buffer;
        const reader = new Reader(new Uint8Array(body));
        const decoded = api.decodeRequest(reader, version);
        expect(reader.remaining, `${name} v${version}`).toBe(0);
        const writer = new Writer();
        api.encodeRequest(writer, version, decoded);
        expect(Buffer.from(writer.finish()).toString("hex"), `${name} v${version}`).toBe(body.toString("hex"));
        checked++;
      }
    });
  }
  test("checked many request versions", () => {
    expect(checked).toBeGreaterThan(100);
  });
});
