// KafkaConnection against a real broker process: version negotiation, hundreds of pipelined
// requests matched to their answers, a request larger than the kernel takes at once (the write
// queue), timeouts (which close the connection, as answers come in order), closing, and failures.
// The UNSUPPORTED_VERSION fallback of ApiVersions is checked against a scripted peer (the broker
// knows every version we send).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { KafkaConnection } from "../../src/client/connection.ts";
import { ConnectionError, RequestTimeoutError } from "../../src/client/errors.ts";
import { encodeRequestFrame } from "../../src/protocol/headers.ts";
import {
  ApiVersionsApi, CreateTopicsApi, ErrorCode, FetchApi, KafkaError, MetadataApi, ProduceApi, ResponseHeaderCodec,
} from "../../src/protocol/index.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBroker({ set: { "message.max.bytes": 16 * 1024 * 1024 } });
});
afterAll(async () => {
  await broker?.stop();
});

function connect(options: Partial<Parameters<typeof KafkaConnection.connect>[0]> = {}): Promise<KafkaConnection> {
  return KafkaConnection.connect({ host: broker.host, port: broker.port, clientId: "connection-test", ...options });
}

describe("KafkaConnection against a broker", () => {
  test("negotiates versions: the highest both sides know, per API", async () => {
    using connection = await connect();
    expect(connection.versions?.get(MetadataApi.apiKey)?.maxVersion).toBe(MetadataApi.maxVersion);
    expect(connection.versionFor(MetadataApi)).toBe(MetadataApi.maxVersion);
    expect(connection.versionFor(MetadataApi, 0, 4)).toBe(4);
    // Fetch v0-3 are served (down-converted, issue 17); a range above what the broker serves has no common version.
    expect(connection.versionFor(FetchApi, 0, 3)).toBe(3);
    expect(() => connection.versionFor(FetchApi, FetchApi.maxVersion + 1, FetchApi.maxVersion + 2)).toThrow(KafkaError);
    const metadata = await connection.request(MetadataApi, { topics: [] });
    expect(metadata.brokers.length).toBe(1);
    expect(metadata.brokers[0]!.port).toBe(broker.port);
  });

  test("300 pipelined requests each get their own answer", async () => {
    using connection = await connect();
    const answers = await Promise.all(Array.from({ length: 300 }, (_, index) =>
      connection.request(MetadataApi, { topics: [{ name: `missing-${index}` }], allowAutoTopicCreation: false })));
    expect(answers.map((answer) => answer.topics[0]!.name)).toEqual(Array.from({ length: 300 }, (_, index) => `missing-${index}`));
    expect(answers.every((answer) => answer.topics[0]!.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)).toBe(true);
    expect(connection.inFlight).toBe(0);
  });

  test("a 12 MiB produce request goes through the write queue whole", async () => {
    using connection = await connect();
    const created = await connection.request(CreateTopicsApi, { topics: [{ name: "big", numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
    expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE);
    const value = crypto.getRandomValues(new Uint8Array(65536));
    const batch = buildRecordBatch({ records: Array.from({ length: 192 }, () => ({ value })) });
    expect(batch.length).toBeGreaterThan(12 * 1024 * 1024);
    const answer = await connection.request(ProduceApi, {
      acks: -1, timeoutMs: 10_000, topicData: [{ name: "big", partitionData: [{ index: 0, records: batch }] }],
    });
    expect(answer.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);
    expect(connection.queued).toBe(0);
  });

  test("a request that outlives its timeout fails, and closes the connection with everything behind it", async () => {
    const connection = await connect();
    await connection.request(CreateTopicsApi, { topics: [{ name: "quiet", numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
    const longPoll = connection.request(FetchApi, {
      maxWaitMs: 10_000, minBytes: 1, topics: [{ topic: "quiet", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }] }],
    }, { version: 11, timeoutMs: 100 });
    const behind = connection.request(MetadataApi, { topics: [] }).catch((error: unknown) => error);
    await expect(longPoll).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(await behind).toBeInstanceOf(ConnectionError);
    expect(connection.isClosed).toBe(true);
    await expect(connection.request(MetadataApi, { topics: [] })).rejects.toBeInstanceOf(ConnectionError);
  });

  test("close() fails requests in flight and tells close listeners once", async () => {
    const connection = await connect();
    let told = 0;
    connection.onClose(() => told++);
    const pending = connection.request(FetchApi, { maxWaitMs: 5000, minBytes: 1, topics: [] }, { version: 11 });
    connection.close();
    connection.close();
    await expect(pending).rejects.toBeInstanceOf(ConnectionError);
    expect(told).toBe(1);
  });

  test("a request the broker refuses to read (unknown version) fails with a ConnectionError, not a hang", async () => {
    using connection = await connect();
    const frame = encodeRequestFrame(MetadataApi, 1, connection.nextCorrelationId(), "t", { topics: [] });
    new DataView(frame.buffer, frame.byteOffset).setInt16(6, 99); // api version 99
    const answer = connection.sendEncoded(frame, new DataView(frame.buffer, frame.byteOffset).getInt32(8));
    await expect(answer).rejects.toBeInstanceOf(ConnectionError);
  });

  test("sendEncoded: a frame built by hand gets the raw response body", async () => {
    using connection = await connect();
    const correlationId = connection.nextCorrelationId();
    const frame = encodeRequestFrame(MetadataApi, 1, correlationId, "raw", { topics: [] });
    const body = await connection.sendEncoded(frame, correlationId, { responseHeaderVersion: 0 });
    const decoded = MetadataApi.decodeResponse(new Reader(body), 1);
    expect(decoded.brokers[0]!.port).toBe(broker.port);
  });

  test("nothing listening: a ConnectionError", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = server.port;
    server.stop(true);
    await expect(KafkaConnection.connect({ host: "127.0.0.1", port })).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe("ApiVersions fallback (scripted peer)", () => {
  test("a broker that answers v0 UNSUPPORTED_VERSION gets asked again at the version it offers", async () => {
    const seen: number[] = [];
    let input = new Uint8Array(0);
    const answer = (socket: Socket<undefined>, frame: Uint8Array) => {
      const view = new DataView(frame.buffer, frame.byteOffset);
      const version = view.getInt16(2);
      const correlationId = view.getInt32(4);
      seen.push(version);
      const writer = new Writer();
      const sizeAt = writer.reserveInt32();
      ResponseHeaderCodec.encode(writer, 0, { correlationId });
      if (version > 2) {
        ApiVersionsApi.encodeResponse(writer, 0, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }] });
      } else {
        ApiVersionsApi.encodeResponse(writer, version, { apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }, { apiKey: 3, minVersion: 0, maxVersion: 5 }] });
      }
      writer.patchInt32(sizeAt, writer.length - 4);
      socket.write(writer.finish());
    };
    const server = Bun.listen<undefined>({
      hostname: "127.0.0.1", port: 0,
      socket: {
        data(socket, chunk) {
          const joined = new Uint8Array(input.length + chunk.length);
          joined.set(input);
          joined.set(chunk, input.length);
          input = joined;
          while (input.length >= 4) {
            const size = new DataView(input.buffer, input.byteOffset).getInt32(0);
            if (input.length < 4 + size) break;
            answer(socket, input.subarray(4, 4 + size));
            input = input.slice(4 + size);
          }
        },
      },
    });
    try {
      using connection = await KafkaConnection.connect({ host: "127.0.0.1", port: server.port });
      expect(seen).toEqual([ApiVersionsApi.maxVersion, 2]);
      expect(connection.versionFor(MetadataApi)).toBe(5);
      expect(connection.supports(ProduceApi)).toBe(false);
      expect(() => connection.versionFor(ProduceApi)).toThrow(KafkaError);
    } finally {
      server.stop(true);
    }
  });
});
