// Fuzz of the LIVE Kafka listener: a real broker process receives at least FUZZ_CASES (default
// 100,000) random and mutated request frames that it provably processes, over hundreds of
// connections, while a well-behaved client on its own connection keeps doing ApiVersions + Produce
// + Fetch round trips. FUZZ_SEED replays a run.
//
// Frames are mutations of valid encoded requests (every served API and version with all-default
// bodies, plus Produce/Fetch/Metadata/ListOffsets with real content, gzip batches, bad CRCs,
// idempotent batches) or garbage:
//   bit flips · byte overwrites · truncation (size fixed, or left claiming the missing bytes) ·
//   trailing junk · oversized / negative length prefixes · unknown API keys · unknown versions ·
//   random bytes · a gzip decompression bomb (128 MiB of zeros in 130 KB).
// Each mutated frame is decoded here with the same codecs to tell well-formed ones (the broker
// must hand them to a handler and answer) from malformed ones (it must refuse them). A connection
// carries a burst of up to 60 well-formed frames then an ApiVersions sentinel, whose answer proves
// every frame before it was processed (responses come in order); then one malformed frame and the
// sentinel again (the broker closes or answers), or a frame cut short (we hang up). "Processed"
// counts only what the broker provably handled.
//
// Asserted: the broker process stays alive; it never closes a connection on well-formed frames and
// never stalls; the well-behaved client is answered all along and after; a bad CRC is answered
// CORRUPT_MESSAGE on a healthy connection; the records produced before the fuzz are intact, byte
// for byte. Mutations cannot harm the broker's state by construction: auto.create.topics.enable is
// off, the corpus carries admin requests (CreateTopics, DeleteTopics, DeleteRecords, AlterConfigs,
// CreatePartitions…) only with empty bodies, and the precious topic's name is out of reach of
// mutations of "fz".

import { afterAll, beforeAll, expect, test } from "bun:test";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { decodeRequestFrame, encodeRequestFrame } from "../../src/protocol/headers.ts";
import { crc32cSoftware } from "../../src/native/fallback.ts";
import { batchCrcValid, buildBatch, compareWithSent, prng } from "../../src/testing/record-batches.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { Compression, gzipBatch, splitBatches, withRecordsSection } from "./listener-wire.ts";
import { connectTo } from "../helpers/connection.ts";
import { RawConnection } from "../helpers/raw-wire.ts";
import type { KafkaConnection } from "../../src/client/connection.ts";

const casesTarget = Number(process.env.FUZZ_CASES ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const workers = 12;
const preciousTopic = "precious-records";
const fuzzTopic = "fz";
const preciousBatches: Uint8Array[] = [];
const preciousBaseOffsets: bigint[] = [];

const {
  ApiVersionsApi, CreateTopicsApi, FetchApi, MetadataApi, ProduceApi, ListOffsetsApi,
} = generated as unknown as Record<string, AnyApi>;

let broker: Broker;
let client: KafkaConnection;
let fuzzTopicId = "";

beforeAll(async () => {
  broker = await startBroker({
    set: { "auto.create.topics.enable": "false" },
    env: { RUNNEL_LOG_LEVEL: process.env.FUZZ_STDERR ? "debug" : "warn" },
  });
  client = await connectTo(broker.bootstrap, "runnel-fuzz");
  const created = await client.request(CreateTopicsApi!, {
    topics: [
      { name: preciousTopic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      { name: fuzzTopic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 10000,
  }, { version: 4 });
  for (const topic of created.topics) expect(topic.errorCode).toBe(ErrorCode.NONE);
  for (let number = 0; number < 40; number++) {
    const batch = buildBatch({ batchNumber: number, recordCount: 1 + (number % 7), valueBytes: 64 + number * 3, seed: 42 });
    preciousBatches.push(batch);
    preciousBaseOffsets.push(await produce(client, preciousTopic, batch));
  }
  const metadata = await client.request(MetadataApi!, { topics: [{ name: fuzzTopic, topicId: undefined }] }, { version: 12 });
  fuzzTopicId = metadata.topics[0].topicId;
}, 30000);

afterAll(async () => {
  client?.close();
  await broker?.stop();
  if (process.env.FUZZ_STDERR) console.log(broker.lastStderr.split("\n").filter((line) => !/__consumer_offsets/.test(line)).slice(-40).join("\n"));
});

async function produce(connection: KafkaConnection, topic: string, batch: Uint8Array): Promise<bigint> {
  const response = await connection.request(ProduceApi!, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  }, { version: 9 });
  const partition = response.responses[0].partitionResponses[0];
  expect(partition.errorCode).toBe(ErrorCode.NONE);
  return partition.baseOffset;
}

/** ApiVersions + Produce + Fetch on the well-behaved connection. */
async function roundTrip(connection: KafkaConnection, number: number): Promise<void> {
  const versions = await connection.request(ApiVersionsApi!, { clientSoftwareName: "runnel-fuzz", clientSoftwareVersion: "1" }, { version: 3 });
  expect(versions.errorCode).toBe(ErrorCode.NONE);
  const batch = buildBatch({ batchNumber: 100_000 + number, recordCount: 2, valueBytes: 32, seed: 7 });
  const offset = await produce(connection, fuzzTopic, batch);
  const fetched = await connection.request(FetchApi!, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: fuzzTopic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: "",
  }, { version: 11 });
  const partition = fetched.responses[0].partitions[0];
  expect(partition.errorCode).toBe(ErrorCode.NONE);
  const [first] = splitBatches(partition.records);
  expect(first).toBeDefined();
  expect(compareWithSent(first!, batch, offset)).toBeNull();
}

// ---- corpus of valid frames -------------------------------------------------------------------

function buildCorpus(ranges: { apiKey: number; minVersion: number; maxVersion: number }[]): Uint8Array[] {
  const apis = new Map<number, AnyApi>();
  for (const value of Object.values(generated)) {
    const api = value as AnyApi;
    if (api && typeof api === "object" && typeof api.apiKey === "number" && typeof api.encodeRequest === "function") apis.set(api.apiKey, api);
  }
  const corpus: Uint8Array[] = [];
  const fuzzBatch = buildBatch({ batchNumber: 9, recordCount: 3, valueBytes: 40, seed: 3 });
  const gzipped = gzipBatch(fuzzBatch);
  const badCrc = fuzzBatch.slice();
  badCrc[17]! ^= 0xff;
  const withProducer = fuzzBatch.slice();
  const producerView = new DataView(withProducer.buffer);
  producerView.setBigInt64(43, 5n); // producer id 5, epoch 0, sequence 0, CRC recomputed below
  producerView.setInt16(51, 0);
  producerView.setInt32(53, 0);
  const idempotent = withRecordsSection(withProducer, Compression.none, withProducer.subarray(61));
  for (const range of ranges) {
    const api = apis.get(range.apiKey);
    if (!api) continue;
    for (let version = range.minVersion; version <= range.maxVersion; version++) {
      // Every API with an all-defaults body (empty lists: harmless even for admin APIs).
      try {
        corpus.push(encodeRequestFrame(api, version, version + 1, "fuzz", {}));
      } catch {
        // some versions need a field the defaults cannot give
      }
    }
  }
  for (let version = 3; version <= 11; version++) {
    for (const records of [fuzzBatch, gzipped, badCrc, idempotent]) {
      corpus.push(encodeRequestFrame(ProduceApi!, version, 7, "fuzz", {
        transactionalId: null, acks: version % 3 === 0 ? 0 : 1, timeoutMs: 1000,
        topicData: [{ name: fuzzTopic, partitionData: [{ index: version % 2, records }] }],
      }));
    }
  }
  // Batches with a mutated header or records section and a CORRECT CRC: they pass the CRC check
  // and reach the storage's deeper validation (lengths, counts, offsets, attributes).
  const random = prng(seed ^ 0x5eed);
  for (let index = 0; index < 300; index++) {
    const batch = (index % 3 === 0 ? gzipped : fuzzBatch).slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let flip = 0; flip < flips; flip++) {
      // Anywhere after the CRC field, header fields (attributes … recordCount) most often.
      const at = random() < 0.7 ? 21 + Math.floor(random() * 40) : 21 + Math.floor(random() * (batch.length - 21));
      batch[at]! ^= 1 << Math.floor(random() * 8);
    }
    new DataView(batch.buffer).setUint32(17, crc32cSoftware(batch.subarray(21)));
    corpus.push(encodeRequestFrame(ProduceApi!, 3 + (index % 9), 11, "fuzz", {
      transactionalId: null, acks: 1, timeoutMs: 1000,
      topicData: [{ name: fuzzTopic, partitionData: [{ index: index % 2, records: batch }] }],
    }));
  }
  for (let version = 4; version <= 17; version++) {
    corpus.push(encodeRequestFrame(FetchApi!, version, 8, "fuzz", {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 65536, isolationLevel: version % 2, sessionId: 0, sessionEpoch: -1,
      topics: [{ ...(version >= 13 ? { topicId: fuzzTopicId } : { topic: fuzzTopic }), partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 65536 }] }],
      forgottenTopicsData: [], rackId: "",
    }));
  }
  for (let version = 0; version <= 12; version++) {
    corpus.push(encodeRequestFrame(MetadataApi!, version, 9, "fuzz", { topics: [{ name: fuzzTopic }] }));
  }
  for (let version = 1; version <= 9; version++) {
    corpus.push(encodeRequestFrame(ListOffsetsApi!, version, 10, "fuzz", {
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: fuzzTopic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    }));
  }
  return corpus;
}

// ---- mutations ----------------------------------------------------------------------------------

type Mutation = (frame: Uint8Array, random: () => number) => { bytes: Uint8Array; last?: boolean };

const int = (random: () => number, below: number) => Math.floor(random() * below);

function withSize(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 4);
  new DataView(out.buffer).setInt32(0, body.length);
  out.set(body, 4);
  return out;
}

const mutations: [string, number, Mutation][] = [
  ["valid", 8, (frame) => ({ bytes: frame })],
  ["bit flips", 30, (frame, random) => {
    const bytes = frame.slice();
    const flips = 1 + int(random, 8);
    for (let index = 0; index < flips && bytes.length > 4; index++) bytes[4 + int(random, bytes.length - 4)]! ^= 1 << int(random, 8);
    return { bytes };
  }],
  ["byte overwrite", 10, (frame, random) => {
    const bytes = frame.slice();
    const start = 4 + int(random, Math.max(1, bytes.length - 4));
    const length = 1 + int(random, 16);
    for (let at = start; at < Math.min(bytes.length, start + length); at++) bytes[at] = int(random, 256);
    return { bytes };
  }],
  ["truncated, size fixed", 12, (frame, random) => withSizeOf(frame.subarray(4, 4 + int(random, frame.length - 4)))],
  ["truncated, size claims more", 3, (frame, random) => ({ bytes: frame.subarray(0, 4 + int(random, frame.length - 4)), last: true })],
  ["trailing junk", 5, (frame, random) => {
    const junk = crypto.getRandomValues(new Uint8Array(1 + int(random, 64)));
    const body = new Uint8Array(frame.length - 4 + junk.length);
    body.set(frame.subarray(4));
    body.set(junk, frame.length - 4);
    return { bytes: withSize(body) };
  }],
  ["oversized length prefix", 4, (frame, random) => {
    const bytes = frame.slice();
    const size = random() < 0.5 ? 104857601 + int(random, 2 ** 31 - 104857601) : -1 - int(random, 2 ** 31 - 1);
    new DataView(bytes.buffer).setInt32(0, size);
    return { bytes, last: true };
  }],
  ["unknown api key", 6, (frame, random) => {
    const bytes = frame.slice();
    new DataView(bytes.buffer).setInt16(4, random() < 0.5 ? 100 + int(random, 32000) : -1 - int(random, 32000));
    return { bytes };
  }],
  ["unknown version", 6, (frame, random) => {
    const bytes = frame.slice();
    new DataView(bytes.buffer).setInt16(6, random() < 0.7 ? 18 + int(random, 32000) : -1 - int(random, 32000));
    return { bytes };
  }],
  ["random bytes", 8, (_frame, random) => withSizeOf(crypto.getRandomValues(new Uint8Array(int(random, 300))))],
];

function withSizeOf(body: Uint8Array): { bytes: Uint8Array } {
  return { bytes: withSize(body) };
}

const mutationWeights = mutations.reduce((sum, [, weight]) => sum + weight, 0);

function pickMutation(random: () => number): [string, Mutation] {
  let roll = random() * mutationWeights;
  for (const [name, weight, mutate] of mutations) {
    roll -= weight;
    if (roll < 0) return [name, mutate];
  }
  return [mutations[0]![0], mutations[0]![2]];
}

/** A gzip batch whose records inflate to 128 MiB of zeros (twice the 64 MiB inflate cap). */
function decompressionBomb(): Uint8Array {
  const template = buildBatch({ batchNumber: 1, recordCount: 1, valueBytes: 8 });
  const zeros = new Uint8Array(128 * 1024 * 1024);
  return withRecordsSection(template, Compression.gzip, Bun.gzipSync(zeros, { level: 6 }));
}

interface Tally {
  /** Frames written to the broker. */
  cases: number;
  /** Frames the broker provably processed: answered (or followed by an answered sentinel), or refused by closing. */
  processed: number;
  connections: number;
  /** Connections the broker closed on a refused frame. */
  closedByBroker: number;
  /** Connections the broker closed although every frame sent decodes (a finding). */
  closedOnBenign: number;
  timedOut: number;
  byMutation: Map<string, number>;
}

/** Correlation id of the ApiVersions frame that ends a burst: its answer means "all processed". */
const SENTINEL_ID = 0x7fffffff;
let sentinelFrame: Uint8Array;
/** Served version ranges (from the broker's ApiVersions). */
const served = new Map<number, { minVersion: number; maxVersion: number }>();
/** APIs that may park a request for seconds (group joins and syncs wait for other members). */
const PARKING_KEYS = new Set([11, 14]);

/**
 * What the broker will make of a frame, judged by decoding it here with the same codecs:
 * "benign" (a well-formed request of a served API and version that is answered promptly: it
 * reaches the handler), "parks" (well-formed but may wait: left out) or "fatal" (the broker may
 * refuse it by closing the connection: malformed, or an acks=0 Produce that fails).
 */
function classify(frame: Uint8Array): "benign" | "parks" | "fatal" {
  if (frame.length < 4 || new DataView(frame.buffer, frame.byteOffset).getInt32(0) !== frame.length - 4) return "fatal";
  try {
    const { header, api, body } = decodeRequestFrame(frame.subarray(4));
    const range = served.get(header.requestApiKey);
    if (!api || !range || header.requestApiVersion < range.minVersion || header.requestApiVersion > range.maxVersion) return "fatal";
    if (PARKING_KEYS.has(header.requestApiKey)) return "parks";
    if (header.requestApiKey === 1 && (body as { maxWaitMs: number }).maxWaitMs > 100) return "parks";
    // A Produce with acks=0 that fails closes the connection, as Kafka does (there is no response
    // to carry the error): it may only end a burst.
    if (header.requestApiKey === 0 && (body as { acks: number }).acks === 0) return "fatal";
    return "benign";
  } catch {
    return "fatal";
  }
}

function concat(frames: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const frame of frames) total += frame.length;
  const joined = new Uint8Array(total);
  let at = 0;
  for (const frame of frames) {
    joined.set(frame, at);
    at += frame.length;
  }
  return joined;
}

/** Send bytes, then wait for the sentinel's answer, the broker closing, or `timeoutMs`. */
async function exchange(connection: RawConnection, bytes: Uint8Array, timeoutMs: number): Promise<"answered" | "closed" | "timeout"> {
  const sentinelAnswered = connection.waitForCorrelationId(SENTINEL_ID);
  connection.send(bytes);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    connection.closed.then(() => "closed" as const),
    sentinelAnswered.then(() => "answered" as const),
    new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs))),
  ]);
  clearTimeout(timer);
  return outcome;
}

/**
 * One connection, two phases:
 *   1. a burst of 1-40 mutated frames that decode here (so the broker hands them to its handlers
 *      and must answer them) and a valid ApiVersions sentinel: its answer proves the broker
 *      processed every frame of the burst (responses come in request order);
 *   2. one mutated frame that does not decode, which the broker must refuse (close the connection
 *      or answer an error), followed by the sentinel unless the frame ends mid-way (then the broker
 *      is left waiting for bytes that never come, and we hang up).
 */
async function fuzzConnection(corpus: Uint8Array[], random: () => number, tally: Tally, extra?: Uint8Array): Promise<void> {
  const burst = 1 + int(random, 60);
  const frames: Uint8Array[] = [];
  if (extra) frames.push(extra);
  let final: { bytes: Uint8Array; last?: boolean; name: string } | undefined;
  for (let attempt = 0; attempt < burst * 4 && frames.length < burst; attempt++) {
    const [name, mutate] = pickMutation(random);
    const mutated = mutate(corpus[int(random, corpus.length)]!, random);
    const verdict = mutated.last ? "fatal" : classify(mutated.bytes);
    if (verdict === "benign") {
      frames.push(mutated.bytes);
      tally.byMutation.set(name, (tally.byMutation.get(name) ?? 0) + 1);
    } else if (verdict === "fatal" && final === undefined) {
      final = { ...mutated, name };
    }
  }
  const connection = await RawConnection.connect(broker.bootstrap, { keepFrames: false });
  tally.connections++;
  try {
    tally.cases += frames.length;
    const first = await exchange(connection, concat([...frames, sentinelFrame]), 5000);
    if (first === "answered") tally.processed += frames.length;
    else if (first === "closed") tally.closedOnBenign++;
    else tally.timedOut++;
    if (first !== "answered" || !final) return;
    tally.cases++;
    tally.byMutation.set(`${final.name} (refused)`, (tally.byMutation.get(`${final.name} (refused)`) ?? 0) + 1);
    const endsMidFrame = final.last === true && final.name.startsWith("truncated");
    if (endsMidFrame) {
      connection.send(final.bytes);
      return;
    }
    const second = await exchange(connection, concat([final.bytes, sentinelFrame]), 5000);
    if (second === "timeout") tally.timedOut++;
    else tally.processed++;
    if (second === "closed") tally.closedByBroker++;
  } finally {
    connection.close();
  }
}

/** FUZZ_DIAGNOSE=1: send benign frames one per connection and print those the broker closes on. */
async function diagnose(corpus: Uint8Array[], random: () => number): Promise<void> {
  const closes = new Map<string, number>();
  for (let index = 0; index < 2000; index++) {
    const [name, mutate] = pickMutation(random);
    const mutated = mutate(corpus[int(random, corpus.length)]!, random);
    if (mutated.last || classify(mutated.bytes) !== "benign") continue;
    const connection = await RawConnection.connect(broker.bootstrap, { keepFrames: false });
    const answered = connection.waitForCorrelationId(SENTINEL_ID);
    const frame = new Uint8Array(mutated.bytes.length + sentinelFrame.length);
    frame.set(mutated.bytes);
    frame.set(sentinelFrame, mutated.bytes.length);
    connection.send(frame);
    const outcome = await Promise.race([connection.closed.then(() => "closed"), answered.then(() => "answered")]);
    if (outcome === "closed") {
      const view = new DataView(mutated.bytes.buffer, mutated.bytes.byteOffset);
      const key = `${name} api ${view.getInt16(4)} v${view.getInt16(6)}`;
      closes.set(key, (closes.get(key) ?? 0) + 1);
    }
    connection.close();
  }
  console.log("closed on benign frames:", [...closes].sort((a, b) => b[1] - a[1]).slice(0, 40));
}

function brokerAlive(): boolean {
  const pid = broker.pid;
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test(`live listener survives ${casesTarget} random and mutated frames (seed ${seed})`, async () => {
  const versions = await client.request(ApiVersionsApi!, { clientSoftwareName: "runnel-fuzz", clientSoftwareVersion: "1" }, { version: 3 });
  for (const key of versions.apiKeys) served.set(key.apiKey, { minVersion: key.minVersion, maxVersion: key.maxVersion });
  const corpus = buildCorpus(versions.apiKeys.map((key: any) => ({ apiKey: key.apiKey, minVersion: key.minVersion, maxVersion: key.maxVersion })));
  expect(corpus.length).toBeGreaterThan(100);
  sentinelFrame = encodeRequestFrame(ApiVersionsApi!, 0, SENTINEL_ID, "fuzz-sentinel", {});
  const bomb = decompressionBomb();
  const bombFrames = [3, 7, 9].map((version) => encodeRequestFrame(ProduceApi!, version, 77, "fuzz", {
    transactionalId: null, acks: 1, timeoutMs: 1000,
    topicData: [{ name: fuzzTopic, partitionData: [{ index: 1, records: bomb }] }],
  }));

  const tally: Tally = { cases: 0, processed: 0, connections: 0, closedByBroker: 0, closedOnBenign: 0, timedOut: 0, byMutation: new Map() };
  let healthChecks = 0;
  let healthError: unknown = null;
  let fuzzing = true;
  const health = (async () => {
    while (fuzzing) {
      try {
        await roundTrip(client, healthChecks++);
      } catch (error) {
        healthError ??= error;
        return;
      }
      await Bun.sleep(200);
    }
  })();

  if (process.env.FUZZ_DIAGNOSE) await diagnose(corpus, prng(seed));
  let bombsSent = 0;
  const worker = async (index: number) => {
    const workerRandom = prng(seed * 31 + index);
    while (tally.processed < casesTarget && tally.timedOut + tally.closedOnBenign < 50 && healthError === null) {
      const extra = bombsSent < 9 && workerRandom() < 0.01 ? bombFrames[bombsSent++ % bombFrames.length] : undefined;
      if (extra) tally.byMutation.set("decompression bomb", (tally.byMutation.get("decompression bomb") ?? 0) + 1);
      await fuzzConnection(corpus, workerRandom, tally, extra);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  fuzzing = false;
  await health;

  console.log(`fuzz seed ${seed}: ${tally.cases} frames sent over ${tally.connections} connections, ` +
    `${tally.processed} provably processed; ${tally.closedByBroker} connections closed on a refused frame, ` +
    `${tally.closedOnBenign} closed on well-formed frames, ${tally.timedOut} stalls (no answer in 5 s); ` +
    `health round trips ${healthChecks}; ` +
    [...tally.byMutation].map(([name, count]) => `${name} ${count}`).join(", "));
  const stat = await Bun.file(`/proc/${broker.pid}/stat`).text().catch(() => "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ownCpu = process.cpuUsage();
  if (fields.length > 13) {
    console.log(`CPU: broker ${(Number(fields[11]) + Number(fields[12])) / 100} s, fuzzer ${((ownCpu.user + ownCpu.system) / 1e6).toFixed(2)} s (user+system)`);
  }
  expect(healthError).toBeNull();
  expect(brokerAlive()).toBe(true);
  expect(tally.processed).toBeGreaterThanOrEqual(casesTarget);
  expect(tally.closedOnBenign).toBe(0);
  expect(tally.timedOut).toBe(0);
  expect(healthChecks).toBeGreaterThan(0);

  // A fresh connection still works, and the records produced before the fuzz are intact.
  const after = await connectTo(broker.bootstrap, "runnel-fuzz-after");
  await roundTrip(after, 1_000_000);

  // Bad input on a well-behaved connection is answered, not fatal: a bad CRC is CORRUPT_MESSAGE;
  // a decompression bomb is never inflated by the broker (batches are stored as sent), so it
  // costs nothing and the connection goes on.
  const badCrc = buildBatch({ batchNumber: 5, recordCount: 2, valueBytes: 16 });
  badCrc[40]! ^= 1;
  for (const [records, expected] of [[badCrc, [ErrorCode.CORRUPT_MESSAGE]], [bomb, [ErrorCode.NONE, ErrorCode.CORRUPT_MESSAGE]]] as const) {
    const response = await after.request(ProduceApi!, {
      transactionalId: null, acks: 1, timeoutMs: 5000,
      topicData: [{ name: fuzzTopic, partitionData: [{ index: 1, records }] }],
    }, { version: 9 });
    expect(expected).toContain(response.responses[0].partitionResponses[0].errorCode);
  }
  await roundTrip(after, 1_000_001);
  let offset = 0n;
  const seen: Uint8Array[] = [];
  while (seen.length < preciousBatches.length) {
    const fetched = await after.request(FetchApi!, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: preciousTopic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: "",
    }, { version: 11 });
    const partition = fetched.responses[0].partitions[0];
    expect(partition.errorCode).toBe(ErrorCode.NONE);
    const batches = splitBatches(partition.records);
    expect(batches.length).toBeGreaterThan(0);
    for (const batch of batches) {
      seen.push(batch.slice());
      offset = new DataView(batch.buffer, batch.byteOffset).getBigInt64(0) + BigInt(new DataView(batch.buffer, batch.byteOffset).getInt32(23)) + 1n;
    }
  }
  expect(seen.length).toBe(preciousBatches.length);

  // Whatever the fuzz managed to append to "fz" reads back as a sound log: every batch whole, with
  // a valid CRC, at increasing offsets, up to the high watermark.
  for (const partitionIndex of [0, 1]) {
    let next = 0n;
    let batchesRead = 0;
    for (;;) {
      const fetched = await after.request(FetchApi!, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 4 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: fuzzTopic, partitions: [{ partition: partitionIndex, currentLeaderEpoch: -1, fetchOffset: next, logStartOffset: -1n, partitionMaxBytes: 4 << 20 }] }],
        forgottenTopicsData: [], rackId: "",
      }, { version: 11 });
      const partition = fetched.responses[0].partitions[0];
      expect(partition.errorCode).toBe(ErrorCode.NONE);
      const batches = splitBatches(partition.records);
      if (batches.length === 0) {
        expect(next).toBe(partition.highWatermark);
        break;
      }
      for (const batch of batches) {
        const view = new DataView(batch.buffer, batch.byteOffset, batch.length);
        const baseOffset = view.getBigInt64(0);
        const lastOffset = baseOffset + BigInt(view.getInt32(23));
        if (lastOffset < next) continue; // the batch holding `next` again
        expect(batchCrcValid(batch)).toBe(true);
        expect(baseOffset >= next || batchesRead === 0).toBe(true);
        next = lastOffset + 1n;
        batchesRead++;
      }
    }
    console.log(`fz-${partitionIndex}: ${batchesRead} batches, log end ${next}, all CRCs valid`);
  }
  for (let index = 0; index < preciousBatches.length; index++) {
    expect(compareWithSent(seen[index]!, preciousBatches[index]!, preciousBaseOffsets[index]!)).toBeNull();
  }
  after.close();
}, 120000);
