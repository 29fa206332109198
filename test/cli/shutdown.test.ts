// Graceful SIGTERM: the broker stops accepting, answers the requests it already read (a long-poll
// Fetch ends at once with what there is, instead of after its max wait), closes the connections,
// flushes and closes its files and exits 0; what it acknowledged is there after a restart.

import { expect, test } from "bun:test";
import { KafkaConnection } from "../../src/client/connection.ts";
import { encodeRequestFrame } from "../../src/protocol/headers.ts";
import { CreateTopicsApi, ErrorCode, FetchApi, ListOffsetsApi, ProduceApi } from "../../src/protocol/index.ts";
import { Reader } from "../../src/protocol/primitives.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { startBroker } from "../helpers/broker.ts";

test("SIGTERM answers in-flight requests (a long poll ends early), then the broker exits 0 with nothing lost", async () => {
  await using broker = await startBroker({ keepDataDir: false });
  const connection = await KafkaConnection.connect({ host: broker.host, port: broker.port });
  const created = await connection.request(CreateTopicsApi, { topics: [{ name: "quiet", numPartitions: 1, replicationFactor: 1 }, { name: "busy", numPartitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
  expect(created.topics.map((topic) => topic.errorCode)).toEqual([0, 0]);

  // A produce and a 30-second long poll, written back to back: when the produce is answered, the
  // broker has read the long poll too (same chunk), which is now waiting.
  const produceId = connection.nextCorrelationId();
  const fetchId = connection.nextCorrelationId();
  const produce = encodeRequestFrame(ProduceApi, 7, produceId, "t", {
    acks: 1, timeoutMs: 5000, topicData: [{ name: "busy", partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: "kept" }] }) }] }],
  });
  const fetch = encodeRequestFrame(FetchApi, 11, fetchId, "t", {
    maxWaitMs: 30_000, minBytes: 1, topics: [{ topic: "quiet", partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }] }],
  });
  const both = new Uint8Array(produce.length + fetch.length);
  both.set(produce);
  both.set(fetch, produce.length);
  const produced = connection.sendEncoded(both, produceId);
  const fetched = connection.sendEncoded(new Uint8Array(0), fetchId);
  const produceAnswer = ProduceApi.decodeResponse(new Reader(await produced), 7);
  expect(produceAnswer.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE);

  const started = performance.now();
  const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
  const exit = broker.shutdown(); // SIGTERM
  const fetchAnswer = FetchApi.decodeResponse(new Reader(await fetched), 11);
  expect(fetchAnswer.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
  expect(fetchAnswer.responses[0]!.partitions[0]!.records?.length ?? 0).toBe(0);
  await closed; // the broker closed the connection after answering
  expect(await exit).toBe(0);
  expect(performance.now() - started).toBeLessThan(20_000); // not the 30 s of the long poll

  await broker.start();
  const after = await KafkaConnection.connect({ host: broker.host, port: broker.port });
  const offsets = await after.request(ListOffsetsApi, { topics: [{ name: "busy", partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
  expect(offsets.topics[0]!.partitions[0]!.offset).toBe(1n);
  after.close();
}, 40_000);
