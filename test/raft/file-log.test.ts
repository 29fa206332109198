// The Raft log over real files (src/raft/file-log.ts) and the pieces the driver writes beside it:
// entries survive a reopen only once flushed, truncations and snapshot installs reach the disk in
// order, a snapshot the log disagrees with replaces it at open, the log is trimmed below a
// snapshot; quorum-state round-trips; Raft messages survive Kafka's wire (raft/wire.ts).

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { imageRecords } from "../../src/cluster/metadata-snapshot.ts";
import { applyRecords, emptyImage } from "../../src/cluster/image.ts";
import { record } from "../../src/cluster/records.ts";
import { encodeSnapshot, snapshotFileName } from "../../src/cluster/metadata-snapshot.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { native } from "../../src/native/index.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";
import { decodeMetadataBatch, encodeMetadataBatch } from "../../src/raft/driver.ts";
import { FileRaftLog } from "../../src/raft/file-log.ts";
import type { RaftRequest } from "../../src/raft/messages.ts";
import { readQuorumState, writeQuorumState } from "../../src/raft/quorum-state-file.ts";
import type { RaftEntry } from "../../src/raft/types.ts";
import { decodeRaftFetchRequest, decodeRaftResponse, decodeVoteRequest, encodeRaftFetchResponse, encodeRaftRequest, encodeVoteResponse } from "../../src/raft/wire.ts";
import { realFs } from "../../src/storage/index.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function fresh(): string {
  const directory = mkdtempSync(join(tmpdir(), "runnel-raft-log-"));
  directories.push(directory);
  return directory;
}

const brokerConfig = loadBrokerConfig({}).values;
const open = (dataDir: string) => FileRaftLog.open({ dataDir, brokerConfig, logger: recordingLogger() });
const data = (offset: bigint, epoch: number, text: string): RaftEntry => ({ kind: "data", offset, epoch, value: new TextEncoder().encode(text) });
const text = (entry: RaftEntry) => (entry.kind === "data" ? new TextDecoder().decode(entry.value) : entry.kind === "voters" ? `voters ${entry.voters.map((voter) => voter.id)}` : `leader ${entry.leaderId}`);

test("flushed entries survive a reopen, with their epochs; a truncation reaches the disk in order", async () => {
  const dataDir = fresh();
  let log = await open(dataDir);
  log.append([{ kind: "leaderChange", offset: 0n, epoch: 1, leaderId: 2, voters: [1, 2, 3], grantingVoters: [2, 3] }, data(1n, 1, "a"), data(2n, 1, "b")]);
  log.truncateTo(2n);
  log.append([data(2n, 2, "c"), data(3n, 2, "d")]);
  expect(await log.flush()).toEqual({ offset: 4n, epoch: 2 });
  await log.close();
  log = await open(dataDir);
  expect(log.endOffset).toBe(4n);
  expect(log.read(0n, 10, 1 << 20).map(text)).toEqual(["leader 2", "a", "c", "d"]);
  expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 2n });
  expect(log.epochBefore(4n)).toBe(2);
  await log.close();
});

test("a snapshot trims the log below it; at open the log starts at the snapshot", async () => {
  const dataDir = fresh();
  let log = await open(dataDir);
  log.append([data(0n, 1, "a"), data(1n, 1, "b"), data(2n, 1, "c")]);
  await log.flush();
  const image = applyRecords(emptyImage, [record("TopicRecord", { name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAQ" })], { offset: 1n, epoch: 1 }).image;
  const bytes = encodeSnapshot(native, imageRecords(image), 1, 0n);
  await realFs.writeFileAtomic(join(log.directory, snapshotFileName({ endOffset: 2n, epoch: 1 })), bytes);
  log.addSnapshot({ endOffset: 2n, epoch: 1 }, bytes);
  log.deleteBefore({ endOffset: 2n, epoch: 1 });
  await log.flush();
  expect(log.startOffset).toBe(2n);
  await log.close();
  log = await open(dataDir);
  expect(log.startOffset).toBe(2n);
  expect(log.startSnapshot?.records.map((entry) => entry.type)).toEqual(["TopicRecord"]);
  expect(log.read(2n, 10, 1 << 20).map(text)).toEqual(["c"]);
  await log.close();
});

test("a snapshot the log disagrees with at its end (another epoch there) replaces the log at open", async () => {
  const dataDir = fresh();
  let log = await open(dataDir);
  log.append([data(0n, 1, "a"), data(1n, 1, "b"), data(2n, 1, "c")]);
  await log.flush();
  const bytes = encodeSnapshot(native, [], 3, 0n);
  await realFs.writeFileAtomic(join(log.directory, snapshotFileName({ endOffset: 2n, epoch: 3 })), bytes);
  await log.close();
  log = await open(dataDir);
  expect([log.startOffset, log.endOffset]).toEqual([2n, 2n]);
  expect(log.latestSnapshot()).toEqual({ endOffset: 2n, epoch: 3 });
  await log.close();
});

test("a snapshot fetched from the leader replaces the log on disk", async () => {
  const dataDir = fresh();
  let log = await open(dataDir);
  log.append([data(0n, 1, "a")]);
  await log.flush();
  const bytes = encodeSnapshot(native, [], 4, 0n);
  log.writeSnapshotChunk({ endOffset: 10n, epoch: 4 }, 0n, bytes.subarray(0, 10));
  log.writeSnapshotChunk({ endOffset: 10n, epoch: 4 }, 10n, bytes.subarray(10));
  log.installSnapshot({ endOffset: 10n, epoch: 4 });
  await log.flush();
  await log.close();
  expect(readdirSync(log.directory)).toContain(snapshotFileName({ endOffset: 10n, epoch: 4 }));
  log = await open(dataDir);
  expect([log.startOffset, log.endOffset]).toEqual([10n, 10n]);
  expect(log.epochBefore(10n)).toBe(4);
  await log.close();
});

test("quorum-state: Kafka's file, written atomically, read back", async () => {
  const directory = fresh();
  expect(readQuorumState(realFs, directory)).toEqual({ epoch: 0, votedId: null, leaderId: null });
  await writeQuorumState(realFs, directory, { epoch: 7, votedId: 2, leaderId: 3 }, "cluster", [1, 2, 3]);
  expect(readQuorumState(realFs, directory)).toEqual({ epoch: 7, votedId: 2, leaderId: 3 });
  const json = JSON.parse(new TextDecoder().decode(realFs.readFile(join(directory, "quorum-state"))!));
  expect(json).toMatchObject({ leaderId: 3, leaderEpoch: 7, votedId: 2, currentVoters: [{ voterId: 1 }, { voterId: 2 }, { voterId: 3 }] });
});

test("a metadata batch (one Raft entry) round-trips its records", () => {
  const records = [record("TopicRecord", { name: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAQ" }), record("ProducerIdsRecord", { brokerId: 1, brokerEpoch: 5n, nextProducerId: 2000n })];
  expect(decodeMetadataBatch(encodeMetadataBatch(records))).toEqual(records);
});

function overTheWire(api: { encodeRequest: Function; decodeRequest: Function }, version: number, body: unknown): unknown {
  const writer = new Writer();
  api.encodeRequest(writer, version, body);
  return api.decodeRequest(new Reader(writer.finish()), version);
}

test("Raft messages on Kafka's wire: a pre-vote needs Vote v2; Fetch carries entries, diverging epoch and echo fields", () => {
  const vote: RaftRequest = { kind: "VoteRequest", clusterId: "c", voterId: 2, candidateId: 1, candidateEpoch: 5, lastOffsetEpoch: 4, lastOffset: 17n, preVote: true };
  const wire = encodeRaftRequest(vote);
  expect(wire.version).toBe(2);
  expect(decodeVoteRequest(overTheWire(wire.api, wire.version, wire.body) as never)).toEqual(vote);
  const voteAnswer = decodeRaftResponse(vote, encodeVoteResponse({ kind: "VoteResponse", errorCode: 0, leaderId: -1, leaderEpoch: 4, voteGranted: true, candidateEpoch: 0, preVote: false }) as never);
  expect(voteAnswer).toEqual({ kind: "VoteResponse", errorCode: 0, leaderId: -1, leaderEpoch: 4, voteGranted: true, candidateEpoch: 5, preVote: true });

  const fetch: RaftRequest = { kind: "FetchRequest", clusterId: "c", replicaId: 3, maxWaitMs: 400, currentLeaderEpoch: 5, fetchOffset: 10n, lastFetchedEpoch: 4, logStartOffset: 0n, maxBytes: 1000 };
  const fetchWire = encodeRaftRequest(fetch);
  expect(decodeRaftFetchRequest(overTheWire(fetchWire.api, fetchWire.version, fetchWire.body) as never)).toEqual(fetch);
  const entries: RaftEntry[] = [data(10n, 5, "x"), { kind: "leaderChange", offset: 11n, epoch: 5, leaderId: 1, voters: [1, 2, 3], grantingVoters: [1, 2] }];
  const answer = encodeRaftFetchResponse({
    kind: "FetchResponse", errorCode: 0, leaderId: 1, leaderEpoch: 5, highWatermark: 11n, logStartOffset: 0n, divergingEpoch: { epoch: 4, endOffset: 9n },
    snapshotId: null, records: entries, currentLeaderEpoch: 0, fetchOffset: 0n, lastFetchedEpoch: 0,
  });
  const decoded = decodeRaftResponse(fetch, answer as never);
  expect(decoded).toMatchObject({ kind: "FetchResponse", leaderId: 1, highWatermark: 11n, divergingEpoch: { epoch: 4, endOffset: 9n }, snapshotId: null, fetchOffset: 10n, currentLeaderEpoch: 5 });
  expect((decoded as unknown as { records: RaftEntry[] }).records.map(text)).toEqual(["x", "leader 1"]);
});
