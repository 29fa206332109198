// The Kafka layer in process (listener, connection, dispatcher, handlers) over an in-memory log:
// negotiation, strict response order, closes on bad input, backpressure isolation, long polling,
// zero-copy release. Real clients against the real broker process are in test/compat/.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ApiVersionsApi,
  CreateTopicsApi,
  DeleteTopicsApi,
  FetchApi,
  ListOffsetsApi,
  MetadataApi,
  ProduceApi,
} from "../../src/protocol/generated/index.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { buildBatch } from "../../src/testing/record-batches.ts";
import { startInProcess, type InProcessServer } from "./in-process.ts";
import { decodeResponse, encodeRequest, RawConnection } from "../helpers/raw-wire.ts";

let server: InProcessServer;

/** Wait for a condition on the broker's state (no fixed sleeps), bounded. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(1);
  }
}

beforeAll(async () => {
  server = await startInProcess([["queued.max.requests", "16"], ["socket.request.max.bytes", "1048576"]]);
});
afterAll(async () => {
  await server.close();
});

function produceRequest(topic: string, batch: Uint8Array, acks = 1) {
  return { acks, timeoutMs: 1000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] };
}

function fetchRequest(topic: string, offset: bigint, maxWaitMs: number, minBytes = 1) {
  return {
    replicaId: -1, maxWaitMs, minBytes, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1 }] }],
    forgottenTopicsData: [], rackId: "",
  };
}

describe("negotiation", () => {
  test("ApiVersions v0 then Metadata v0 pipelined are answered in order (kafka-python's probe)", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    await client.send(encodeRequest(ApiVersionsApi, 0, 1, {}));
    await client.send(encodeRequest(MetadataApi, 0, 2, { topics: [] }));
    const [first, second] = await client.waitFrames(2);
    const versions = decodeResponse(ApiVersionsApi, 0, first!);
    expect(versions.correlationId).toBe(1);
    expect(versions.body.errorCode).toBe(0);
    const keys = versions.body.apiKeys.map((entry: { apiKey: number }) => entry.apiKey);
    expect(keys).toEqual(expect.arrayContaining([0, 1, 2, 3, 18, 19, 20]));
    const produce = versions.body.apiKeys.find((entry: { apiKey: number }) => entry.apiKey === 0);
    expect(produce.minVersion).toBeLessThanOrEqual(3);
    expect(decodeResponse(MetadataApi, 0, second!).correlationId).toBe(2);
    client.close();
  });

  test("ApiVersions at an unknown version: v0 layout, UNSUPPORTED_VERSION, our ranges", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    // A future version: the header is v2 (flexible) and the body unknown; only the header matters.
    const frame = encodeRequest(ApiVersionsApi, 3, 7, { clientSoftwareName: "x", clientSoftwareVersion: "1" });
    new DataView(frame.buffer, frame.byteOffset).setInt16(6, 99);
    await client.send(frame);
    const [answer] = await client.waitFrames(1);
    const decoded = decodeResponse(ApiVersionsApi, 0, answer!);
    expect(decoded.correlationId).toBe(7);
    expect(decoded.body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(decoded.body.apiKeys.length).toBeGreaterThan(5);
    client.close();
  });

  test("an unknown API key closes that connection only", async () => {
    const bad = await RawConnection.connect(server.bootstrap);
    const good = await RawConnection.connect(server.bootstrap);
    const frame = encodeRequest(ApiVersionsApi, 0, 1, {});
    new DataView(frame.buffer, frame.byteOffset).setInt16(4, 999);
    await bad.send(frame);
    expect(await bad.waitClosed()).toBe(true);
    await good.send(encodeRequest(ApiVersionsApi, 3, 1, { clientSoftwareName: "x", clientSoftwareVersion: "1" }));
    expect((await good.waitFrames(1)).length).toBe(1);
    good.close();
  });

  test("a bad frame after pipelined requests: the earlier ones are answered first, then it closes", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    const bad = encodeRequest(ApiVersionsApi, 0, 3, {});
    new DataView(bad.buffer, bad.byteOffset).setInt16(4, 999);
    const first = encodeRequest(ApiVersionsApi, 0, 1, {});
    const second = encodeRequest(MetadataApi, 1, 2, { topics: [] });
    const joined = new Uint8Array(first.length + second.length + bad.length);
    joined.set(first);
    joined.set(second, first.length);
    joined.set(bad, first.length + second.length);
    await client.send(joined);
    expect(await client.waitClosed()).toBe(true);
    expect(client.frames.length).toBe(2);
    expect(decodeResponse(ApiVersionsApi, 0, client.frames[0]!).correlationId).toBe(1);
    expect(decodeResponse(MetadataApi, 1, client.frames[1]!).correlationId).toBe(2);
  });

  test("an oversized length prefix closes the connection before allocating", async () => {
    const rssBefore = process.memoryUsage().rss;
    const client = await RawConnection.connect(server.bootstrap);
    await client.send(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    expect(await client.waitClosed()).toBe(true);
    // Nothing was reserved for the 2 GiB it announced, nor allocated (the process did not grow by
    // anything near it), and no request is held.
    expect(server.server.stats().queuedRequestBytes).toBe(0);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  });

  test("a truncated body closes the connection", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    const frame = encodeRequest(MetadataApi, 1, 1, { topics: [{ name: "abc" }] });
    const cut = frame.slice(0, frame.length - 2);
    new DataView(cut.buffer).setInt32(0, cut.length - 4);
    await client.send(cut);
    expect(await client.waitClosed()).toBe(true);
  });
});

describe("framing and flow control", () => {
  test("500 pipelined requests in one write, over queued.max.requests=16: all answered, in order", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    const frames = Array.from({ length: 500 }, (_, index) => encodeRequest(ApiVersionsApi, 2, index, {}));
    const all = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
    let offset = 0;
    for (const frame of frames) {
      all.set(frame, offset);
      offset += frame.length;
    }
    const bounded = await startInProcess([["queued.max.requests", "16"]]);
    // Every request waits at a gate until released: the connection fills up to the bound and stops.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let dispatched = 0;
    bounded.broker.interceptRequest = () => {
      dispatched++;
      return gate;
    };
    try {
      const held = await RawConnection.connect(bounded.bootstrap);
      await held.send(all);
      await eventually(() => bounded.server.stats().pausedConnections === 1, "the connection to pause at the bound");
      expect(dispatched).toBe(16);
      expect(bounded.server.stats().requestsInFlight).toBe(16);
      release();
      const answers = await held.waitFrames(500);
      expect(answers.map((frame) => decodeResponse(ApiVersionsApi, 2, frame).correlationId)).toEqual([...Array(500).keys()]);
      expect(dispatched).toBe(500);
      expect(bounded.server.stats().requestsInFlightHighWater).toBe(16);
      held.close();
    } finally {
      bounded.broker.interceptRequest = undefined;
      await bounded.close();
    }
    // Without a gate too, on the shared server: all answered, in order, never more than 16 at once.
    await client.send(all);
    const answers = await client.waitFrames(500);
    expect(answers.map((frame) => decodeResponse(ApiVersionsApi, 2, frame).correlationId)).toEqual([...Array(500).keys()]);
    expect(server.server.stats().requestsInFlightHighWater).toBeLessThanOrEqual(16);
    client.close();
  });

  test("a request trickled one byte per write is reassembled", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    client.socket.setNoDelay(true);
    const frame = encodeRequest(MetadataApi, 9, 42, { topics: null, allowAutoTopicCreation: false });
    for (let index = 0; index < frame.length; index++) {
      await client.send(frame.subarray(index, index + 1));
      await Bun.sleep(0);
    }
    const [answer] = await client.waitFrames(1);
    expect(decodeResponse(MetadataApi, 9, answer!).correlationId).toBe(42);
    client.close();
  });
});

describe("produce and fetch", () => {
  test("large Produce frames split across many writes at odd places (frame ends and starts mid-chunk) arrive byte-exact", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    client.socket.setNoDelay(true);
    await client.send(encodeRequest(CreateTopicsApi, 4, 1, {
      topics: [{ name: "split-frames", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false,
    }));
    await client.waitFrames(1);
    // Three frames of ~100 KiB, ~200 KiB and ~300 KiB (each above the size at which a frame is
    // filled as it arrives), sent as one byte stream cut at sizes that never line up with them.
    // Then six more of one size: pooled frame buffers (kafka/frame-pool.ts) are reused by the later
    // ones, and every batch must still be stored as it was sent.
    const sizes = [1, 2, 3, 2, 2, 2, 2, 2, 2];
    const batches = sizes.map((tens, index) => buildBatch({ batchNumber: index + 1, recordCount: 10 * tens, valueBytes: 10_000 }));
    const frames = batches.map((batch, index) => encodeRequest(ProduceApi, 7, 10 + index, produceRequest("split-frames", batch)));
    const stream = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
    let at = 0;
    for (const frame of frames) {
      stream.set(frame, at);
      at += frame.length;
    }
    const cuts = [3, 70_001, 65_536, 1, 120_000, 17, 90_000];
    let position = 0;
    for (let index = 0; position < stream.length; index++) {
      const end = Math.min(stream.length, position + cuts[index % cuts.length]!);
      await client.send(stream.subarray(position, end));
      await Bun.sleep(0);
      position = end;
    }
    const answers = (await client.waitFrames(1 + batches.length)).slice(1);
    expect(answers.map((frame) => decodeResponse(ProduceApi, 7, frame).body.responses[0].partitionResponses[0].errorCode)).toEqual(batches.map(() => 0));
    await client.send(encodeRequest(FetchApi, 11, 20, { ...fetchRequest("split-frames", 0n, 0), maxBytes: 8 << 20, topics: [{ ...fetchRequest("split-frames", 0n, 0).topics[0]!, partitions: [{ ...fetchRequest("split-frames", 0n, 0).topics[0]!.partitions[0]!, partitionMaxBytes: 8 << 20 }] }] }));
    const fetched = decodeResponse(FetchApi, 11, (await client.waitFrames(2 + batches.length))[1 + batches.length]!).body.responses[0].partitions[0];
    const stored = fetched.records as Uint8Array;
    expect(stored.length).toBe(batches.reduce((sum, batch) => sum + batch.length, 0));
    // Byte-exact apart from the fields the broker stamps (base offset, leader epoch: bytes 0-7, 12-15).
    let offset = 0;
    for (const batch of batches) {
      expect(stored.subarray(offset + 16, offset + batch.length)).toEqual(batch.subarray(16));
      offset += batch.length;
    }
    client.close();
  });

  test("a long-poll Fetch followed by Metadata: answered in request order, woken by an append", async () => {
    const consumer = await RawConnection.connect(server.bootstrap);
    const producer = await RawConnection.connect(server.bootstrap);
    await producer.send(encodeRequest(CreateTopicsApi, 4, 1, {
      topics: [{ name: "order", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false,
    }));
    await producer.waitFrames(1);
    await consumer.send(encodeRequest(FetchApi, 11, 10, fetchRequest("order", 0n, 10000)));
    await consumer.send(encodeRequest(MetadataApi, 4, 11, { topics: null, allowAutoTopicCreation: false }));
    // The Metadata response is ready and held behind the parked fetch: the broker had its chance
    // to answer out of order, and did not.
    await eventually(() => server.server.stats().heldResponses === 1, "the Metadata response to be held behind the fetch");
    expect(consumer.frames.length).toBe(0);
    const batch = buildBatch({ batchNumber: 1, recordCount: 3, valueBytes: 5000 });
    await producer.send(encodeRequest(ProduceApi, 7, 2, produceRequest("order", batch)));
    const [fetched, metadata] = await consumer.waitFrames(2);
    const fetch = decodeResponse(FetchApi, 11, fetched!);
    expect(fetch.correlationId).toBe(10);
    const partition = fetch.body.responses[0].partitions[0];
    expect(partition.errorCode).toBe(0);
    expect(partition.highWatermark).toBe(3n);
    expect(partition.records.length).toBe(batch.length);
    expect(decodeResponse(MetadataApi, 4, metadata!).correlationId).toBe(11);
    for (const log of server.logs.logs.values()) expect(log.outstandingReads).toBe(0);
    consumer.close();
    producer.close();
  });

  test("acks=0 gets no response; the next request's response follows", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    await client.send(encodeRequest(MetadataApi, 4, 0, { topics: [{ name: "acks0" }], allowAutoTopicCreation: true }));
    await client.waitFrames(1);
    client.frames.length = 0;
    const batch = buildBatch({ batchNumber: 2, recordCount: 1, valueBytes: 16 });
    // Handlers of one connection run concurrently but start in order: the append is issued first.
    await client.send(encodeRequest(ProduceApi, 7, 1, produceRequest("acks0", batch, 0)));
    await client.send(encodeRequest(ListOffsetsApi, 2, 2, {
      replicaId: -1, isolationLevel: 0, topics: [{ name: "acks0", partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
    }));
    const [only] = await client.waitFrames(1);
    const offsets = decodeResponse(ListOffsetsApi, 2, only!);
    expect(offsets.correlationId).toBe(2);
    expect(offsets.body.topics[0].partitions[0].offset).toBe(1n);
    client.close();
  });

  test("a failed acks=0 Produce closes the connection (the client has no other way to learn)", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    const batch = buildBatch({ batchNumber: 6, recordCount: 1, valueBytes: 16 });
    const request = produceRequest("acks0", batch, 0);
    request.topicData[0]!.partitionData[0]!.index = 99;
    await client.send(encodeRequest(ProduceApi, 7, 1, request));
    expect(await client.waitClosed()).toBe(true);
    expect(client.frames.length).toBe(0);
  });

  test("a client that never reads is paused and does not stall another", async () => {
    // 60 fetches of a 900 KiB batch: ~54 MiB of responses, beyond the kernel's socket buffers and
    // the 16 MiB write queue, so the broker must stop reading the flooder's requests.
    const setup = await RawConnection.connect(server.bootstrap);
    await setup.send(encodeRequest(ProduceApi, 7, 1, produceRequest("flood", buildBatch({ batchNumber: 9, recordCount: 1, valueBytes: 900 * 1024 }))));
    await setup.waitFrames(1);
    setup.close();
    const flooder = await RawConnection.connect(server.bootstrap);
    flooder.socket.pause();
    const fetch = encodeRequest(FetchApi, 11, 1, fetchRequest("flood", 0n, 0, 0));
    const many = new Uint8Array(fetch.length * 60);
    for (let index = 0; index < 60; index++) many.set(fetch, index * fetch.length);
    void flooder.send(many).catch(() => {});
    await eventually(() => server.server.stats().pausedConnections >= 1, "the flooding connection to be paused");
    const polite = await RawConnection.connect(server.bootstrap);
    for (let index = 0; index < 20; index++) await polite.send(encodeRequest(MetadataApi, 1, index, { topics: null }));
    const frames = await polite.waitFrames(20);
    expect(frames.map((frame) => decodeResponse(MetadataApi, 1, frame).correlationId)).toEqual([...Array(20).keys()]);
    polite.close();
    flooder.close();
  });

  test("CreateTopics validation and DeleteTopics by id", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    await client.send(encodeRequest(CreateTopicsApi, 7, 1, {
      topics: [
        { name: "bad/name", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: "rf3", numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] },
        { name: "badconfig", numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: "retention.ms", value: "soon" }] },
        { name: "good", numPartitions: -1, replicationFactor: -1, assignments: [], configs: [{ name: "retention.ms", value: "1000" }] },
      ],
      timeoutMs: 1000, validateOnly: false,
    }));
    const created = decodeResponse(CreateTopicsApi, 7, (await client.waitFrames(1))[0]!).body.topics;
    expect(created.map((topic: { errorCode: number }) => topic.errorCode)).toEqual([
      ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorCode.INVALID_REPLICATION_FACTOR, ErrorCode.INVALID_CONFIG, ErrorCode.NONE,
    ]);
    const good = created[3];
    expect(good.numPartitions).toBe(1);
    expect(good.configs.find((config: { name: string }) => config.name === "retention.ms").value).toBe("1000");
    await client.send(encodeRequest(DeleteTopicsApi, 6, 2, { topics: [{ name: null, topicId: good.topicId }], timeoutMs: 1000 }));
    const deleted = decodeResponse(DeleteTopicsApi, 6, (await client.waitFrames(2))[1]!).body.responses;
    expect(deleted[0].errorCode).toBe(0);
    expect(deleted[0].name).toBe("good");
    expect(server.broker.metadata.image.topicsByName.get("good")).toBeUndefined();
    client.close();
  });

  test("Fetch limits: the first batch whole even when larger, later partitions only what fits", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    await client.send(encodeRequest(CreateTopicsApi, 4, 1, {
      topics: [{ name: "limits", numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false,
    }));
    const big = buildBatch({ batchNumber: 3, recordCount: 4, valueBytes: 2000 });
    const small = buildBatch({ batchNumber: 4, recordCount: 1, valueBytes: 100 });
    await client.send(encodeRequest(ProduceApi, 7, 2, {
      acks: 1, timeoutMs: 1000, transactionalId: null,
      topicData: [{ name: "limits", partitionData: [{ index: 0, records: big }, { index: 1, records: small }] }],
    }));
    await client.waitFrames(2);
    const request = {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1000, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: "limits", partitions: [0, 1].map((partition) => ({ partition, fetchOffset: 0n, partitionMaxBytes: 500, logStartOffset: -1n, currentLeaderEpoch: -1 })) }],
      forgottenTopicsData: [], rackId: "",
    };
    await client.send(encodeRequest(FetchApi, 11, 3, request));
    const response = decodeResponse(FetchApi, 11, (await client.waitFrames(3))[2]!).body;
    const [first, second] = response.responses[0].partitions;
    expect(first.records.length).toBe(big.length); // larger than both limits, returned whole
    expect(first.lastStableOffset).toBe(4n);
    expect(first.abortedTransactions).toEqual([]); // read_committed: an empty list, not null
    expect(second.records.length).toBe(0); // the response budget is spent
    expect(second.highWatermark).toBe(1n);
    client.close();
  });

  test("internal topics: clients can neither produce to nor delete __consumer_offsets", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    const batch = buildBatch({ batchNumber: 5, recordCount: 1, valueBytes: 16 });
    await client.send(encodeRequest(ProduceApi, 7, 1, produceRequest("__consumer_offsets", batch)));
    await client.send(encodeRequest(DeleteTopicsApi, 4, 2, { topicNames: ["__consumer_offsets"], timeoutMs: 1000 }));
    const [produced, deleted] = await client.waitFrames(2);
    expect(decodeResponse(ProduceApi, 7, produced!).body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(decodeResponse(DeleteTopicsApi, 4, deleted!).body.responses[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    client.close();
  });

  test("request hook: a delayed first request still answers first; a failed one closes only its connection", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.broker.interceptRequest = (header) => {
      if (header.clientId === "delay-me") return gate;
      if (header.clientId === "fail-me") return "close";
    };
    try {
      const client = await RawConnection.connect(server.bootstrap);
      await client.send(encodeRequest(MetadataApi, 1, 1, { topics: null }, "delay-me"));
      await client.send(encodeRequest(ApiVersionsApi, 0, 2, {}));
      await eventually(() => server.server.stats().heldResponses === 1, "the ApiVersions response to be held");
      expect(client.frames.length).toBe(0); // the ApiVersions response waits behind the delayed one
      release();
      const [first, second] = await client.waitFrames(2);
      expect(decodeResponse(MetadataApi, 1, first!).correlationId).toBe(1);
      expect(decodeResponse(ApiVersionsApi, 0, second!).correlationId).toBe(2);
      const failing = await RawConnection.connect(server.bootstrap);
      await failing.send(encodeRequest(ApiVersionsApi, 0, 1, {}, "fail-me"));
      expect(await failing.waitClosed()).toBe(true);
      await client.send(encodeRequest(ApiVersionsApi, 0, 3, {}));
      expect((await client.waitFrames(3)).length).toBe(3);
      client.close();
    } finally {
      server.broker.interceptRequest = undefined;
    }
  });
});

describe("fetch by topic id and sessions", () => {
  test("v13+ topic ids: known id answers data, unknown id UNKNOWN_TOPIC_ID; a session id we never gave is refused", async () => {
    const client = await RawConnection.connect(server.bootstrap);
    await client.send(encodeRequest(MetadataApi, 12, 1, { topics: [{ name: "by-id", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }], allowAutoTopicCreation: true }));
    const topicId = decodeResponse(MetadataApi, 12, (await client.waitFrames(1))[0]!).body.topics[0].topicId;
    const batch = buildBatch({ batchNumber: 8, recordCount: 2, valueBytes: 32 });
    await client.send(encodeRequest(ProduceApi, 9, 2, produceRequest("by-id", batch)));
    await client.waitFrames(2);
    const fetchById = (id: string, sessionId = 0) => ({
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId, sessionEpoch: sessionId === 0 ? -1 : 1,
      topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, logStartOffset: -1n, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
      forgottenTopicsData: [], rackId: "",
    });
    await client.send(encodeRequest(FetchApi, 17, 3, fetchById(topicId)));
    await client.send(encodeRequest(FetchApi, 17, 4, fetchById("BBBBBBBBBBBBBBBBBBBBBA")));
    await client.send(encodeRequest(FetchApi, 17, 5, fetchById(topicId, 12345)));
    const [known, unknown, session] = (await client.waitFrames(5)).slice(2).map((frame) => decodeResponse(FetchApi, 17, frame!).body);
    expect(known.sessionId).toBe(0);
    expect(known.responses[0].topicId).toBe(topicId);
    expect(known.responses[0].partitions[0].records.length).toBe(batch.length);
    expect(unknown.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    expect(session.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    client.close();
  });
});

describe("auto-creation settings", () => {
  test("num.partitions shapes auto-created topics; auto.create.topics.enable=false refuses", async () => {
    const creating = await startInProcess([["num.partitions", "3"]]);
    const refusing = await startInProcess([["auto.create.topics.enable", "false"]]);
    try {
      const client = await RawConnection.connect(creating.bootstrap);
      await client.send(encodeRequest(MetadataApi, 12, 1, { topics: [{ name: "auto-3", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }], allowAutoTopicCreation: true }));
      const created = decodeResponse(MetadataApi, 12, (await client.waitFrames(1))[0]!).body.topics[0];
      expect(created.errorCode).toBe(0);
      expect(created.partitions.length).toBe(3);
      expect(created.topicId).not.toBe("AAAAAAAAAAAAAAAAAAAAAA");
      // A v4+ request may forbid auto-creation even when the broker allows it.
      await client.send(encodeRequest(MetadataApi, 12, 2, { topics: [{ name: "not-asked", topicId: "AAAAAAAAAAAAAAAAAAAAAA" }], allowAutoTopicCreation: false }));
      expect(decodeResponse(MetadataApi, 12, (await client.waitFrames(2))[1]!).body.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      // Produce auto-creates too (no Metadata first); an illegal or colliding name is refused and nothing is created.
      const produced = buildBatch({ batchNumber: 3, recordCount: 2, valueBytes: 16 });
      await client.send(encodeRequest(ProduceApi, 8, 3, produceRequest("by_produce", produced)));
      await client.send(encodeRequest(ProduceApi, 8, 4, produceRequest("by.produce", produced)));
      await client.send(encodeRequest(ProduceApi, 8, 5, produceRequest("bad name", produced)));
      const frames = await client.waitFrames(5);
      const codeAt = (index: number) => decodeResponse(ProduceApi, 8, frames[index]!).body.responses[0].partitionResponses[0];
      expect(codeAt(2).errorCode).toBe(ErrorCode.NONE);
      expect(codeAt(2).baseOffset).toBe(0n);
      expect(creating.broker.metadata.image.topicsByName.get("by_produce")?.partitions.length).toBe(3);
      expect(codeAt(3).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(codeAt(4).errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      expect(creating.broker.metadata.image.topicsByName.get("by.produce")).toBeUndefined();
      expect(creating.broker.metadata.image.topicsByName.get("bad name")).toBeUndefined();
      client.close();

      const refused = await RawConnection.connect(refusing.bootstrap);
      await refused.send(encodeRequest(MetadataApi, 4, 1, { topics: [{ name: "nope" }], allowAutoTopicCreation: true }));
      const batch = buildBatch({ batchNumber: 7, recordCount: 1, valueBytes: 16 });
      await refused.send(encodeRequest(ProduceApi, 7, 2, produceRequest("nope", batch)));
      const [metadata, produce] = await refused.waitFrames(2);
      expect(decodeResponse(MetadataApi, 4, metadata!).body.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      expect(decodeResponse(ProduceApi, 7, produce!).body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      expect(refusing.broker.metadata.image.topicsByName.get("nope")).toBeUndefined();
      refused.close();
    } finally {
      await creating.close();
      await refusing.close();
    }
  });
});

describe("connection limits", () => {
  test("max.connections.per.ip and its overrides: connections over the limit are closed; others keep working", async () => {
    for (const [overrides, allowed] of [[[] as [string, string][], 2], [[["max.connections.per.ip.overrides", "127.0.0.1:4"]] as [string, string][], 4]] as const) {
      const limited = await startInProcess([["max.connections.per.ip", "2"], ...overrides]);
      try {
        const clients = [];
        for (let index = 0; index < allowed; index++) clients.push(await RawConnection.connect(limited.bootstrap));
        const over = await RawConnection.connect(limited.bootstrap);
        expect(await over.waitClosed()).toBe(true);
        for (const [index, client] of clients.entries()) {
          await client.send(encodeRequest(ApiVersionsApi, 0, index, {}));
          expect((await client.waitFrames(1)).length).toBe(1);
        }
        expect(limited.server.stats().connections).toBe(allowed);
        // A slot frees when a connection closes.
        clients.pop()!.close();
        await eventually(() => limited.server.stats().connections === allowed - 1, "the closed connection to be counted out");
        const again = await RawConnection.connect(limited.bootstrap);
        await again.send(encodeRequest(ApiVersionsApi, 0, 9, {}));
        expect((await again.waitFrames(1)).length).toBe(1);
        for (const client of [...clients, again]) client.close();
      } finally {
        await limited.close();
      }
    }
  });

  test("queued.max.request.bytes: a request that does not fit waits, unread, until memory comes back", async () => {
    const limited = await startInProcess([["queued.max.request.bytes", String(600 * 1024)], ["socket.request.max.bytes", String(4 * 1024 * 1024)]]);
    try {
      // A slow sender announces a 512 KiB request and sends only its first bytes: it holds 512 KiB.
      const slow = await RawConnection.connect(limited.bootstrap);
      const big = encodeRequest(ProduceApi, 7, 1, produceRequest("memory", buildBatch({ batchNumber: 1, recordCount: 1, valueBytes: 512 * 1024 })));
      await slow.send(big.subarray(0, 100));
      await eventually(() => limited.server.stats().queuedRequestBytes >= 512 * 1024, "the slow request's reservation");
      // A second client's request then starts while memory is left (Kafka's pool is not strict)…
      const second = await RawConnection.connect(limited.bootstrap);
      const bigToo = encodeRequest(ProduceApi, 7, 1, produceRequest("memory", buildBatch({ batchNumber: 2, recordCount: 1, valueBytes: 512 * 1024 })));
      await second.send(bigToo.subarray(0, 100));
      await eventually(() => limited.server.stats().queuedRequestBytes >= 1024 * 1024, "the second reservation");
      // …but a third finds the budget spent: it waits, its request not even read.
      const third = await RawConnection.connect(limited.bootstrap);
      await third.send(encodeRequest(ApiVersionsApi, 0, 5, {}));
      await eventually(() => limited.server.stats().connectionsWaitingForMemory === 1, "the third connection to wait for memory");
      expect(third.frames.length).toBe(0);
      expect(limited.server.stats().queuedRequestBytes).toBeLessThan(2 * 1024 * 1024);
      // The slow sender finishes: its request is answered, the memory comes back, the third goes on.
      await slow.send(big.subarray(100));
      await second.send(bigToo.subarray(100));
      expect((await slow.waitFrames(1)).length).toBe(1);
      expect((await second.waitFrames(1)).length).toBe(1);
      expect((await third.waitFrames(1)).length).toBe(1);
      await eventually(() => limited.server.stats().queuedRequestBytes === 0, "every reservation to be given back");
      for (const client of [slow, second, third]) client.close();
    } finally {
      await limited.close();
    }
  });

  test("max.connections: the connection over the limit is closed, the others keep working", async () => {
    const limited = await startInProcess([["max.connections", "2"]]);
    try {
      const first = await RawConnection.connect(limited.bootstrap);
      const second = await RawConnection.connect(limited.bootstrap);
      const third = await RawConnection.connect(limited.bootstrap);
      expect(await third.waitClosed()).toBe(true);
      await first.send(encodeRequest(ApiVersionsApi, 0, 1, {}));
      await second.send(encodeRequest(ApiVersionsApi, 0, 1, {}));
      expect((await first.waitFrames(1)).length).toBe(1);
      expect((await second.waitFrames(1)).length).toBe(1);
      first.close();
      second.close();
    } finally {
      await limited.close();
    }
  });
});
