// KIP-848 consumer groups driven by a manual clock: incremental assignment, a partition never has
// two owners, revocation before re-assignment, fencing, leave and session expiry.

import { expect, test } from "bun:test";
import { ConsumerGroups, type ConsumerHeartbeatInput, type TopicPartitions } from "../../src/groups/consumer-groups.ts";
import { ManualScheduler } from "../../src/groups/scheduler.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const TOPIC_ID = "AAAAAAAAAAAAAAAAAAAAAQ";

function setup() {
  const scheduler = new ManualScheduler();
  const groups = new ConsumerGroups(
    { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, groupMaxSize: 100 },
    scheduler,
    {
      byName: (name) => (name === "t" ? { id: TOPIC_ID, partitions: 4 } : undefined),
      byId: (id) => (id === TOPIC_ID ? { name: "t", partitions: 4 } : undefined),
    },
    () => false,
  );
  return { scheduler, groups };
}

/** A client's view: what it owns, its epoch; heartbeats report ownership like real clients. */
class Client {
  memberId = "";
  epoch = 0;
  owned: number[] = [];
  constructor(private readonly groups: ConsumerGroups) {}

  beat(overrides: Partial<ConsumerHeartbeatInput> = {}) {
    const result = this.groups.heartbeat({
      groupId: "g", memberId: this.memberId, memberEpoch: this.epoch, instanceId: null, rackId: null, rebalanceTimeoutMs: 30_000,
      subscribedTopicNames: this.epoch === 0 ? ["t"] : null, serverAssignor: null,
      topicPartitions: [{ topicId: TOPIC_ID, partitions: this.owned }], clientId: "c", clientHost: "/h", ...overrides,
    });
    if (result.errorCode === 0) {
      this.memberId = result.memberId ?? this.memberId;
      this.epoch = result.memberEpoch;
      if (result.assignment) this.owned = partitionsOf(result.assignment);
    }
    return result;
  }
}

function partitionsOf(assignment: TopicPartitions[]): number[] {
  return assignment.flatMap((entry) => entry.partitions).sort((a, b) => a - b);
}

function noDoubleOwners(clients: Client[]): void {
  const all = clients.flatMap((client) => client.owned);
  expect(new Set(all).size).toBe(all.length);
}

test("incremental assignment: revoke first, then the other member gets the partitions", () => {
  const { groups } = setup();
  const a = new Client(groups);
  a.beat();
  expect(a.owned).toEqual([0, 1, 2, 3]);
  expect(a.epoch).toBe(1);
  const b = new Client(groups);
  b.beat();
  expect(b.epoch).toBe(2);
  expect(b.owned).toEqual([]); // everything still owned by a
  noDoubleOwners([a, b]);
  // a is told to keep only its target, keeps its epoch until it reports the release.
  const first = a.beat();
  expect(first.memberEpoch).toBe(1);
  expect(a.owned.length).toBe(2);
  noDoubleOwners([a, b]);
  b.beat();
  expect(b.owned).toEqual([]); // a has not confirmed yet
  a.beat(); // reports the smaller set: released
  expect(a.epoch).toBe(2);
  b.beat();
  expect(b.owned.length).toBe(2);
  noDoubleOwners([a, b]);
  expect([...a.owned, ...b.owned].sort()).toEqual([0, 1, 2, 3]);
  expect(groups.group("g")!.state).toBe("Stable");
  // b leaves: a gets everything back on its next heartbeat.
  expect(b.beat({ memberEpoch: -1 }).errorCode).toBe(0);
  a.beat();
  expect(a.owned).toEqual([0, 1, 2, 3]);
});

test("fencing, unknown members, session expiry, commit epochs", () => {
  const { groups, scheduler } = setup();
  const a = new Client(groups);
  a.beat();
  expect(a.beat({ memberEpoch: a.epoch + 5 }).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
  expect(a.beat({ memberId: "ghost", memberEpoch: 3 }).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  expect(groups.commitError("g", a.memberId, a.epoch)).toBe(0);
  expect(groups.commitError("g", a.memberId, a.epoch - 1)).toBe(ErrorCode.STALE_MEMBER_EPOCH);
  expect(groups.commitError("g", a.memberId, a.epoch + 1)).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
  expect(groups.commitError("g", "ghost", 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  const b = new Client(groups);
  b.beat();
  a.beat();
  a.beat();
  b.beat();
  noDoubleOwners([a, b]);
  // b goes silent: after the session timeout it is removed and a gets everything.
  for (let elapsed = 0; elapsed < 12_000; elapsed += 1000) {
    scheduler.advance(1000);
    a.beat();
  }
  expect(groups.memberCount("g")).toBe(1);
  expect(a.owned).toEqual([0, 1, 2, 3]);
  expect(groups.heartbeat({
    groupId: "g", memberId: "", memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 1, subscribedTopicNames: ["t"],
    serverAssignor: "cooperative-magic", topicPartitions: null, clientId: "c", clientHost: "/h",
  }).errorCode).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
});
