// Item 5 of issue 8: a client may not write control batches (attributes bit 5, transaction
// markers): Kafka's LogValidator answers INVALID_RECORD "Clients are not allowed to write control
// records"; before, such a batch was acknowledged and then invisible to every consumer. A
// transactional batch (bit 4) from a producer without a transactional id is refused for the whole
// request with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Kafka's KafkaApis does. Nothing is
// appended either way, and the broker keeps serving.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { buildRecordBatch } from "../../src/protocol/record-batch.ts";
import { startBroker, type Broker } from "../helpers/broker.ts";
import { createTopic, fetchAll, produce, ProduceApi, workloadRecords, call, openConnection, type WireConnection } from "./kafka-ops.ts";

let broker: Broker;
let connection: WireConnection;
const topic = "markers";

beforeAll(async () => {
  broker = await startBroker();
  connection = await openConnection(broker.host, broker.port);
  expect(await createTopic(connection, topic, 2)).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  connection?.close();
  await broker?.stop();
});

const records = () => workloadRecords(topic, 0, 0, 3);

test("a control batch from a client: INVALID_RECORD, nothing appended", async () => {
  const before = await fetchAll(connection, topic, 0);
  const result = await produce(connection, topic, 0, buildRecordBatch({ records: records(), control: true }));
  expect(result.errorCode).toBe(ErrorCode.INVALID_RECORD);
  expect(result.errorMessage).toContain(`Clients are not allowed to write control records in topic partition ${topic}-0`);
  const after = await fetchAll(connection, topic, 0);
  expect(after.highWatermark).toBe(before.highWatermark);
});

test("a transactional batch without a transactional id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition of the request", async () => {
  const transactional = buildRecordBatch({ records: records(), transactional: true, producerId: 7n, producerEpoch: 0, baseSequence: 0 });
  const plain = buildRecordBatch({ records: records() });
  const response = await call(connection, ProduceApi, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: transactional }, { index: 1, records: plain }] }],
  });
  const answers = response.responses[0].partitionResponses;
  expect(answers.map((answer: { errorCode: number }) => answer.errorCode)).toEqual([
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ]);
  for (const partition of [0, 1]) expect((await fetchAll(connection, topic, partition)).records).toEqual([]);
});

test("a transactional control batch without a transactional id is refused the same way", async () => {
  const marker = buildRecordBatch({ records: records(), transactional: true, control: true, producerId: 7n, producerEpoch: 0 });
  const result = await produce(connection, topic, 0, marker);
  expect(result.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
});

test("ordinary batches still go in, and read back", async () => {
  const result = await produce(connection, topic, 0, buildRecordBatch({ records: records() }));
  expect(result.errorCode).toBe(ErrorCode.NONE);
  const served = await fetchAll(connection, topic, 0);
  expect(served.records.map((record) => record.value)).toEqual(records().map((record) => new TextDecoder().decode(record.value)));
});
