// Transactions with confluent-kafka-python (librdkafka 2.0.2) against a real Runnel process:
// commit and abort across three partitions of two topics with send_offsets_to_transaction,
// read_committed vs read_uncommitted consumers, the group's offsets visible only on commit, and
// zombie fencing (python/confluent_transactions.py checks each and prints OK). Then a kill -9 of
// the broker in the middle of a transaction: after the restart the transaction is aborted by the
// coordinator's timeout, read_committed never sees its records, and the last stable offset catches
// up with the high watermark.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { KafkaConnection } from "../../src/client/connection.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import * as generated from "../../src/protocol/generated/index.ts";
import { spawnLines } from "../../src/testing/processes.ts";
import { run, startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

const { ListOffsetsApi, CreateTopicsApi, DescribeTransactionsApi, ListTransactionsApi, DescribeProducersApi } = generated as unknown as Record<string, AnyApi>;

const python = "/usr/bin/python3";
const settings = {
  "transaction.state.log.num.partitions": 3,
  "offsets.topic.num.partitions": 3,
  "transaction.abort.timed.out.transaction.cleanup.interval.ms": 200,
};
let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({ set: settings });
});
afterAll(async () => {
  await broker?.stop();
});

test("confluent-kafka-python: commit, abort, offsets in the transaction, read_committed and read_uncommitted, fencing", async () => {
  const { stdout } = await run([python, join(import.meta.dir, "python/confluent_transactions.py"), broker.bootstrap, "one"], { timeoutMs: 90000 });
  const output = new TextDecoder().decode(stdout);
  expect(output).toContain("group offsets 42 7");
  expect(output).toContain("read_committed 24 read_uncommitted 36");
  expect(output).toContain("fenced OK");
  expect(output).toContain("OK");
}, 120000);

test("DescribeTransactions, ListTransactions and DescribeProducers show the finished transactions", async () => {
  const connection = await connectTo(broker.bootstrap);
  try {
    const described = await connection.request(DescribeTransactionsApi!, { transactionalIds: ["tx-one", "never-used"] }, { version: 0 });
    const [known, unknown] = described.transactionStates;
    expect(known).toMatchObject({ errorCode: ErrorCode.NONE, transactionalId: "tx-one", transactionState: "CompleteCommit", topics: [] });
    expect(known.producerEpoch).toBeGreaterThanOrEqual(2); // bumped by the fencing incarnation
    expect(unknown.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    const listed = await connection.request(ListTransactionsApi!, { stateFilters: ["CompleteCommit", "Bogus"], producerIdFilters: [], durationFilter: -1n }, { version: 1 });
    expect(listed.errorCode).toBe(ErrorCode.NONE);
    expect(listed.unknownStateFilters).toEqual(["Bogus"]);
    expect(listed.transactionStates.map((state: { transactionalId: string }) => state.transactionalId)).toContain("tx-one");
    const producers = await connection.request(DescribeProducersApi!, { topics: [{ name: "txn-a-one", partitionIndexes: [0, 9] }] }, { version: 0 });
    const [partition0, missing] = producers.topics[0].partitions;
    expect(partition0.errorCode).toBe(ErrorCode.NONE);
    const fenced = partition0.activeProducers.find((producer: { producerId: bigint }) => producer.producerId === known.producerId);
    expect(fenced).toMatchObject({ currentTxnStartOffset: -1n });
    expect(missing.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } finally {
    connection.close();
  }
});

test("kill -9 of the broker inside a transaction: after the restart it is aborted, read_committed never sees it, the LSO reaches the high watermark", async () => {
  const topic = "txn-crash";
  const connection = await connectTo(broker.bootstrap);
  const created = await connection.request(CreateTopicsApi!, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 }, { version: 4 });
  connection.close();
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  const producer = spawnLines([python, join(import.meta.dir, "python/confluent_txn_crash.py"), "open", broker.bootstrap, topic]);
  try {
    await producer.waitForLine((line) => line === "open");
    await broker.crash({ samePort: true });
  } finally {
    await producer.kill9();
  }
  // The coordinator finds the transaction Ongoing after its replay and aborts it once
  // transaction.timeout.ms (3 s) has passed since it began.
  const after = await connectTo(broker.bootstrap);
  try {
    const offsets = await waitForStable(after, topic);
    expect(offsets.highWatermark).toBe(offsets.lastStable);
    expect(offsets.highWatermark).toBe(72n); // 20 records, COMMIT, 50 records, the ABORT written after the restart
  } finally {
    after.close();
  }
  const { stdout } = await run([python, join(import.meta.dir, "python/confluent_txn_crash.py"), "read", broker.bootstrap, topic], { timeoutMs: 60000 });
  expect(new TextDecoder().decode(stdout)).toContain("read 20 committed");
}, 90000);

/** ListOffsets latest, read_uncommitted (high watermark) and read_committed (LSO), retried until they agree. */
async function waitForStable(connection: KafkaConnection, topic: string): Promise<{ highWatermark: bigint; lastStable: bigint }> {
  const latest = async (isolationLevel: number): Promise<bigint> => {
    const response = await connection.request(ListOffsetsApi!, {
      replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    }, { version: 5 });
    const partition = response.topics[0].partitions[0];
    return partition.errorCode === ErrorCode.NONE ? partition.offset : -1n;
  };
  for (let attempt = 0; attempt < 400; attempt++) {
    const highWatermark = await latest(0);
    const lastStable = await latest(1);
    if (highWatermark > 0n && highWatermark === lastStable) return { highWatermark, lastStable };
    await Bun.sleep(50); // the client's retry backoff while the coordinator's timeout runs
  }
  throw new Error("the last stable offset never reached the high watermark");
}
