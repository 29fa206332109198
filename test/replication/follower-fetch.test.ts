// The two sides of a replica fetch on real partition logs, without the network: the leader's
// fetchForFollower (epoch and assignment checks, KIP-320 divergence answers, follower progress and
// the high watermark over the maximal ISR) and the follower's appendAsFollower /
// truncateOnDivergence / follower high watermark (src/replication/partition.ts), plus the byte
// slicing of fetched batches (batch-slicing.ts).

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PartitionRegistration } from "../../src/cluster/image.ts";
import { loadBrokerConfig, topicDefaults } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { batchesFrom } from "../../src/replication/batch-slicing.ts";
import { Partition, type FollowerFetch } from "../../src/replication/index.ts";
import { openPartitionLog, realFs } from "../../src/storage/index.ts";
import { concatBatches } from "../../src/testing/record-batches.ts";
import { simpleBatch } from "../storage/batches.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const config = topicDefaults(loadBrokerConfig({}).values);
const directories: string[] = [];
const opened: Partition[] = [];
afterEach(async () => {
  for (const partition of opened.splice(0)) await partition.log.close().catch(() => {});
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function registration(overrides: Partial<PartitionRegistration> = {}): PartitionRegistration {
  return { partition: 0, replicas: [1, 2, 3], isr: [1, 2, 3], addingReplicas: [], removingReplicas: [], leader: 1, leaderEpoch: 1, partitionEpoch: 0, ...overrides };
}

async function replica(nodeId: number): Promise<Partition> {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-follower-fetch-"));
  directories.push(dataDir);
  const log = await openPartitionLog({ dataDir, topic: "events", partition: 0, config, native, fs: realFs, logger: recordingLogger() });
  const partition = new Partition("events", 0, "AAAAAAAAAAAAAAAAAAAAAQ", log, nodeId, registration(), config, recordingLogger());
  opened.push(partition);
  return partition;
}

function fetchOf(follower: Partition, overrides: Partial<FollowerFetch> = {}): FollowerFetch {
  const position = follower.followerFetchPosition();
  return {
    replicaId: 2, fetchOffset: position.fetchOffset, lastFetchedEpoch: position.lastFetchedEpoch, currentLeaderEpoch: position.currentLeaderEpoch,
    maxBytes: 1 << 20, nowMs: performance.now(), countsProgress: true, ...overrides,
  };
}

/** One fetch round from `follower` to `leader`, applied as the replica fetcher does. */
async function fetchOnce(leader: Partition, follower: Partition, replicaId = 2): Promise<"diverging" | "records"> {
  const result = leader.fetchForFollower(fetchOf(follower, { replicaId }));
  if (result.kind === "diverging") {
    await follower.truncateOnDivergence(result.divergingEpoch);
    return "diverging";
  }
  const bytes = concatBatches(result.read.chunks.map((chunk) => chunk.slice()));
  result.read.release();
  if (bytes.length > 0) await follower.appendAsFollower(bytes, result.highWatermark);
  else follower.updateFollowerHighWatermark(result.highWatermark);
  return "records";
}

function codeOf(action: () => unknown): number {
  try {
    action();
    return ErrorCode.NONE;
  } catch (error) {
    if (error instanceof KafkaError) return error.code;
    throw error;
  }
}

test("the high watermark moves with the slowest ISR member's fetch offset; a follower's own HW is min(leader's, its log end)", async () => {
  const leader = await replica(1);
  const follower2 = await replica(2);
  const follower3 = await replica(3);
  leader.makeLeader(registration());
  follower2.makeFollower(registration());
  follower3.makeFollower(registration());
  await leader.appendRecordsToLeader(simpleBatch(native, 5), { requiredAcks: 1, timeoutMs: 1000 });
  expect(leader.highWatermark).toBe(0n); // nobody else has it
  await fetchOnce(leader, follower2, 2);
  expect(follower2.logEndOffset).toBe(5n);
  expect(leader.highWatermark).toBe(0n); // 2 has it, the leader does not know yet, 3 does not have it
  await fetchOnce(leader, follower2, 2); // fetch offset 5 now counted
  await fetchOnce(leader, follower3, 3);
  expect(leader.highWatermark).toBe(0n); // 3 fetched at 0
  await fetchOnce(leader, follower3, 3); // 3 at 5
  expect(leader.highWatermark).toBe(5n);
  // Each fetch's answer carries the high watermark as that fetch left it.
  expect(follower3.highWatermark).toBe(5n);
  expect(follower2.highWatermark).toBe(0n); // learns it on its next fetch
  await fetchOnce(leader, follower2, 2);
  expect(follower2.highWatermark).toBe(5n);
  // A fetch with a stale broker epoch (countsProgress false) is served but not counted.
  await leader.appendRecordsToLeader(simpleBatch(native, 1), { requiredAcks: 1, timeoutMs: 1000 });
  await fetchOnce(leader, follower2, 2);
  await fetchOnce(leader, follower3, 3);
  const stale = leader.fetchForFollower(fetchOf(follower2, { countsProgress: false }));
  if (stale.kind === "records") stale.read.release();
  expect(leader.followerProgress(2)!.logEndOffset).toBe(5n);
  expect(leader.highWatermark).toBe(5n);
});

test("the leader checks the fetching replica: epochs, assignment, range", async () => {
  const leader = await replica(1);
  const follower = await replica(2);
  leader.makeLeader(registration({ leaderEpoch: 4, replicas: [1, 2] , isr: [1, 2] }));
  follower.makeFollower(registration({ leaderEpoch: 4, replicas: [1, 2], isr: [1, 2] }));
  const fetch = (overrides: Partial<FollowerFetch>) => () => {
    const result = leader.fetchForFollower(fetchOf(follower, overrides));
    if (result.kind === "records") result.read.release();
  };
  expect(codeOf(fetch({}))).toBe(ErrorCode.NONE);
  expect(codeOf(fetch({ currentLeaderEpoch: 3 }))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  expect(codeOf(fetch({ currentLeaderEpoch: 5 }))).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  expect(codeOf(fetch({ replicaId: 3 }))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER); // not a replica of it
  expect(codeOf(fetch({ fetchOffset: 7n, lastFetchedEpoch: -1 }))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  // A follower is not a leader: a replica fetch to it is NOT_LEADER_OR_FOLLOWER.
  expect(codeOf(() => follower.fetchForFollower(fetchOf(leader, { replicaId: 1 })))).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
});

test("a follower whose log diverged truncates exactly where the epochs part, then takes the leader's records", async () => {
  const oldLeader = await replica(1);
  const newLeader = await replica(2);
  oldLeader.makeLeader(registration({ leader: 1, leaderEpoch: 1 }));
  newLeader.makeFollower(registration({ leader: 1, leaderEpoch: 1 }));
  await oldLeader.appendRecordsToLeader(simpleBatch(native, 4, { prefix: "shared" }), { requiredAcks: 1, timeoutMs: 1000 });
  await fetchOnce(oldLeader, newLeader, 2);
  await fetchOnce(oldLeader, newLeader, 2);
  expect(newLeader.highWatermark).toBe(0n); // 3 isn't there: the HW stays (maximal ISR {1,2,3})
  // The old leader writes alone (uncommitted), then node 2 leads epoch 2 and writes other records.
  await oldLeader.appendRecordsToLeader(simpleBatch(native, 3, { prefix: "lost" }), { requiredAcks: 1, timeoutMs: 1000 });
  newLeader.makeLeader(registration({ leader: 2, leaderEpoch: 2 }));
  oldLeader.makeFollower(registration({ leader: 2, leaderEpoch: 2 }));
  await newLeader.appendRecordsToLeader(simpleBatch(native, 5, { prefix: "new" }), { requiredAcks: 1, timeoutMs: 1000 });
  expect(oldLeader.logEndOffset).toBe(7n);
  // lastFetchedEpoch 1 ends at 4 on the new leader: truncate 7 → 4.
  expect(await fetchOnce(newLeader, oldLeader, 1)).toBe("diverging");
  expect(oldLeader.logEndOffset).toBe(4n);
  expect(await fetchOnce(newLeader, oldLeader, 1)).toBe("records");
  expect(oldLeader.logEndOffset).toBe(9n);
  expect(oldLeader.log.epochEntries()).toEqual(newLeader.log.epochEntries());
});

test("a follower never truncates below its high watermark (asserted), and an unknown epoch truncates to it", async () => {
  const follower = await replica(2);
  follower.makeFollower(registration());
  // Records of epoch 1 at 0-5 (one batch each: truncation cuts whole batches), committed up to 4.
  const leader = await replica(1);
  leader.makeLeader(registration());
  for (let index = 0; index < 6; index++) await leader.appendRecordsToLeader(simpleBatch(native, 1), { requiredAcks: 1, timeoutMs: 1000 });
  await fetchOnce(leader, follower, 2);
  follower.updateFollowerHighWatermark(4n);
  expect(follower.highWatermark).toBe(4n);
  // A leader claiming epoch 1 ended at 2 contradicts the committed prefix: an invariant broke.
  await expect(follower.truncateOnDivergence({ epoch: 1, endOffset: 2n })).rejects.toThrow(/below the high watermark/);
  expect(follower.logEndOffset).toBe(6n);
  // The leader knows no epoch that old: keep only what is known committed.
  expect(await follower.truncateOnDivergence({ epoch: -1, endOffset: 0n })).toBe(4n);
  expect(follower.logEndOffset).toBe(4n);
});

test("an ISR addition counts toward the high watermark from the moment it is proposed until a newer partition epoch arrives", async () => {
  const leader = await replica(1);
  const follower = await replica(2);
  leader.makeLeader(registration({ isr: [1] }));
  follower.makeFollower(registration({ isr: [1] }));
  await leader.appendRecordsToLeader(simpleBatch(native, 3), { requiredAcks: 1, timeoutMs: 1000 });
  expect(leader.highWatermark).toBe(3n); // ISR of one
  await fetchOnce(leader, follower, 2);
  await fetchOnce(leader, follower, 2);
  const proposal = leader.isrChangeToPropose(performance.now(), 30_000, () => true, 1000);
  expect(proposal).toEqual([1, 2]);
  leader.isrProposal.proposed(proposal!, [1], 0);
  await leader.appendRecordsToLeader(simpleBatch(native, 2), { requiredAcks: 1, timeoutMs: 1000 });
  expect(leader.highWatermark).toBe(3n); // 2 is counted already: it has not fetched 3-4 yet
  await fetchOnce(leader, follower, 2);
  await fetchOnce(leader, follower, 2);
  expect(leader.highWatermark).toBe(5n);
  // The registration with the addition arrives: it is an ordinary member now.
  leader.makeLeader(registration({ isr: [1, 2], partitionEpoch: 1 }));
  expect(leader.isrProposal.pendingAdditions).toEqual([]);
});

test("batchesFrom drops whole batches below the follower's log end and a partial last batch", () => {
  const first = simpleBatch(native, 3); // offsets 0-2
  const second = simpleBatch(native, 2); // stamped as 3-4 below
  new DataView(second.buffer, second.byteOffset).setBigInt64(0, 3n);
  const both = concatBatches([first, second]);
  expect(batchesFrom(both, 0n).length).toBe(both.length);
  expect(batchesFrom(both, 3n)).toEqual(second);
  expect(batchesFrom(both, 5n).length).toBe(0);
  expect(batchesFrom(both.subarray(0, both.length - 5), 0n)).toEqual(first);
});
