// Controller voter replacement (docs/elastic.md §6, issue 13's proof; KIP-853): a 3-voter quorum
// replaces each voter in turn with a new node while confluent-kafka-python produces acks=all with
// idempotence. For each original voter: a new node starts as an observer (through
// controller.quorum.bootstrap.servers naming the current voters), is added as a voter, the original
// is removed from the voters, drained of its partition replicas (`runnel cluster decommission`) and
// stopped (SIGTERM). The quorum ends with none of the original voters; the queue checker
// (src/testing/queue-checker.ts) then finds nothing acknowledged lost or duplicated, order kept, no
// delivery failed. The changes go through every front door: `runnel cluster add-controller` /
// `remove-controller` / `remove-voter` (AddRaftVoter/RemoveRaftVoter on the Kafka listener) and the
// HTTP routes POST/DELETE …/quorum/voters. Printed, not asserted: how long each add, remove and
// drain took. VOTERS_ROUNDS=n replaces the whole voter set n times (longer soak; default 1).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";
import { checkQueue, summarize } from "../../src/testing/queue-checker.ts";
import { startCluster, type TestCluster } from "./harness.ts";
import { haveConfluent, parseAttempts, percentile, producerScript, python, readThroughLeaders } from "./queue-tools.ts";

const topic = "voters";
const partitions = 4;
const rounds = Math.max(1, Number(process.env.VOTERS_ROUNDS ?? 1));
const repoRoot = resolve(import.meta.dir, "../..");

/** Run the CLI to its end without blocking this process; bounded. */
async function runCli(args: string[], timeoutMs = 120_000): Promise<{ text: string; errors: string; code: number }> {
  const child = Bun.spawn([process.execPath, join(repoRoot, "src/main.ts"), ...args], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [text, errors, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { text, errors, code };
}

describe.skipIf(!haveConfluent)("the controller quorum replaces every voter under load (KIP-853)", () => {
  let cluster: TestCluster;
  const work = mkdtempSync(join(tmpdir(), "runnel-voters-"));
  const clients: LineProcess[] = [];
  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3, http: true,
      set: { "offsets.topic.num.partitions": 1, "replica.fetch.wait.max.ms": 200, "replica.rebalance.check.interval.ms": 300, "leader.imbalance.check.interval.seconds": 1 },
    });
    const response = await cluster.ask(1, (connection) => connection.request(CreateTopicsApi, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [{ name: "min.insync.replicas", value: "2" }] }],
      timeoutMs: 10_000, validateOnly: false,
    }, { version: 7, timeoutMs: 20_000 }));
    expect(response.topics[0]!.errorCode).toBe(0);
  }, 90_000);
  afterAll(async () => {
    for (const child of clients) await child.kill9().catch(() => {});
    await cluster?.close();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  test("each voter is replaced in turn: nothing acknowledged lost, none of the originals left", async () => {
    const produced = join(work, "attempts.jsonl");
    const stopProducer = join(work, "stop-producer");
    const producer = spawnLines([python, producerScript, "--bootstrap", cluster.bootstrap, "--topic", topic, "--name", "p1", "--output", produced, "--stop-file", stopProducer, "--rate", "150"]);
    clients.push(producer);
    await producer.waitForLine((line) => line === "ready");
    const acknowledged = () => parseAttempts(produced).filter((attempt) => attempt.outcome.kind === "ok").length;
    const progress = async (more: number) => {
      const target = acknowledged() + more;
      await cluster.waitFor(`${more} more acknowledged records`, () => (acknowledged() >= target ? true : undefined), 30_000);
    };
    const voterIds = async (via: number) => (await cluster.describeQuorum(via)).currentVoters.map((voter) => voter.replicaId).sort((a, b) => a - b);
    const originals = [1, 2, 3];
    let voters = [...originals];
    const figures: string[] = [];
    let step = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const old of [...voters]) {
        step++;
        await progress(50);
        // The new node joins as an observer through the current voters' internal listeners.
        const bootstrapServers = voters.map((id) => `127.0.0.1:${cluster.node(id).voterPort}`).join(",");
        const joinStarted = Date.now();
        const fresh = await cluster.addBroker({ bootstrapServers });
        const joinedMs = Date.now() - joinStarted;
        const via = voters.find((id) => id !== old)!;
        const kafkaVia = `127.0.0.1:${cluster.node(via).kafkaPort}`;

        const addStarted = Date.now();
        const httpVia = cluster.node(via).httpPort;
        if (step === 1 && httpVia > 0) {
          const answer = await fetch(`http://127.0.0.1:${httpVia}/v3/clusters/-/quorum/voters`.replace("/-/", `/${await clusterIdOf(httpVia)}/`), {
            method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ voter_id: fresh }),
          });
          expect({ status: answer.status, body: answer.status === 200 ? "" : await answer.clone().text() }).toEqual({ status: 200, body: "" });
          expect(((await answer.json()) as { voters: { replica_id: number }[] }).voters.map((voter) => voter.replica_id)).toContain(fresh);
        } else {
          const added = await runCli(["cluster", "add-controller", String(fresh), "--bootstrap", kafkaVia]);
          expect(added.errors).toBe("");
          expect(added.code).toBe(0);
          expect(added.text).toContain(`added voter ${fresh}`);
        }
        const addMs = Date.now() - addStarted;
        voters = [...voters, fresh].sort((a, b) => a - b);
        expect(await voterIds(via)).toEqual(voters);

        const removeStarted = Date.now();
        if (step === 2 && httpVia > 0) {
          const answer = await fetch(`http://127.0.0.1:${httpVia}/v3/clusters/${await clusterIdOf(httpVia)}/quorum/voters/${old}`, { method: "DELETE" });
          expect({ status: answer.status, body: answer.status === 200 ? "" : await answer.text() }).toEqual({ status: 200, body: "" });
        } else {
          const removed = await runCli(["cluster", step % 2 === 0 ? "remove-voter" : "remove-controller", String(old), "--bootstrap", kafkaVia]);
          expect(removed.errors).toBe("");
          expect(removed.code).toBe(0);
        }
        const removeMs = Date.now() - removeStarted;
        voters = voters.filter((id) => id !== old);
        // Every member agrees; the quorum has a leader among the new voters.
        await cluster.waitFor(`voters ${voters}`, async () => ((await voterIds(fresh)).join(",") === voters.join(",") ? true : undefined));
        const leader = await cluster.waitFor("a leader among the voters", async () => {
          const quorum = await cluster.describeQuorum(fresh);
          return voters.includes(quorum.leaderId) ? quorum.leaderId : undefined;
        });

        const drainStarted = Date.now();
        const drained = await runCli(["cluster", "decommission", String(old), "--bootstrap", kafkaVia, "--wait-ms", "90000"]);
        expect(drained.errors).toBe("");
        expect(drained.code).toBe(0);
        const drainMs = Date.now() - drainStarted;
        expect(await cluster.terminate(old)).toBe(0);
        figures.push(`voter ${old} → ${fresh}: observer ready in ${joinedMs} ms, added in ${addMs} ms, ${old} removed in ${removeMs} ms (leader now ${leader}), drained in ${drainMs} ms, stopped`);
      }
    }
    expect(voters.some((id) => originals.includes(id))).toBe(false);
    expect(await voterIds(voters[0]!)).toEqual(voters);
    await progress(50);
    writeFileSync(stopProducer, "");
    expect(await producer.exited).toBe(0);

    const attempts = parseAttempts(produced);
    const report = checkQueue(attempts, await readThroughLeaders(cluster.bootstrap, topic, partitions));
    const latencies = attempts.filter((attempt) => attempt.outcome.kind === "ok").map((attempt) => attempt.latencyMs);
    console.log(figures.join("\n"));
    console.log(`final voters [${voters}]; produce latency: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms over ${latencies.length} records`);
    console.log(`through the leaders: ${summarize(report)}`);
    expect(report.counts.acknowledged).toBeGreaterThan(150);
    expect(report.counts.failed).toBe(0);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  }, 240_000 * rounds);
});

/** The cluster id as the HTTP API names it. */
async function clusterIdOf(httpPort: number): Promise<string> {
  const answer = await fetch(`http://127.0.0.1:${httpPort}/v3/clusters`);
  return ((await answer.json()) as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
}
