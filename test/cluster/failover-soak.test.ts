// Repeated kill -9 of the metadata quorum's leader (CLUSTER_SOAK_ROUNDS=<rounds> — not RUNNEL_*, which the
// brokers would read as a config key; skipped
// otherwise): each round kills the leader, waits for a new one, creates a topic through a survivor,
// restarts the killed node and waits until it lists every topic. Prints the election times
// (min/median/max) — figures, not assertions on speed.

import { afterAll, expect, test } from "bun:test";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const rounds = Number(process.env.CLUSTER_SOAK_ROUNDS ?? 0);
let cluster: TestCluster | undefined;
afterAll(() => cluster?.close(), 30_000);

test.skipIf(rounds <= 0)(`${rounds} kill -9 failovers of the quorum leader`, async () => {
  cluster = await startCluster({ nodes: 3, proxies: true, set: { "metadata.log.max.record.bytes.between.snapshots": 4000 } });
  const elections: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const leader = await cluster.quorumLeader();
    const killedAt = Date.now();
    await cluster.kill(leader);
    const next = await cluster.quorumLeader(20_000);
    elections.push(Date.now() - killedAt);
    expect(next).not.toBe(leader);
    const survivor = cluster.liveNodes()[0]!.id;
    const created = await cluster.ask(survivor, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: `soak-${round}`, numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(created.topics[0]!.errorCode).toBe(0);
    await cluster.restart(leader);
    await cluster.waitFor(`node ${leader} lists soak-${round}`, async () => (await cluster!.metadata(leader)).topics.some((topic) => topic.name === `soak-${round}`) || undefined);
  }
  const sorted = elections.slice().sort((left, right) => left - right);
  console.log(`${rounds} failovers: new leader after min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`);
}, Math.max(60_000, rounds * 30_000));
