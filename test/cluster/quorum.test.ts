// Three real broker processes forming a metadata quorum (docs/replication.md §3-§4, §7): election,
// failover after kill -9 of the quorum leader, a minority cut off by the fault proxy, catching up
// after a restart (from a snapshot when the log was trimmed), fencing of a stopped broker, a restart
// of every node. Figures (election and failover times) are printed, never asserted.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CreateTopicsApi } from "../../src/protocol/generated/create-topics.ts";
import { startCluster, type TestCluster } from "./harness.ts";

async function createTopic(cluster: TestCluster, via: number, name: string, partitions = 3, replicationFactor = 3): Promise<number> {
  const response = await cluster.ask(via, (connection) => connection.request(CreateTopicsApi, {
    topics: [{ name, numPartitions: partitions, replicationFactor, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
  }, { version: 7, timeoutMs: 20_000 }));
  return response.topics[0]!.errorCode;
}

/** Run a command to its end without blocking this process (the fault proxies run here and must keep forwarding). */
async function runCommand(command: string[]): Promise<{ text: string; errors: string; code: number }> {
  const child = Bun.spawn(command, { cwd: `${import.meta.dir}/../..`, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const [text, errors, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { text, errors, code };
}

async function topicNames(cluster: TestCluster, id: number): Promise<string[]> {
  return (await cluster.metadata(id)).topics.map((topic) => topic.name!).filter((name) => !name.startsWith("__")).sort();
}

describe("a three-node cluster", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    const started = Date.now();
    cluster = await startCluster({
      nodes: 3, proxies: true,
      // Snapshots after every few metadata changes, so a node that was away catches up from one.
      set: { "metadata.log.max.record.bytes.between.snapshots": 2000, "offsets.topic.num.partitions": 3 },
      env: { RUNNEL_LOG_LEVEL: "info" },
    });
    console.log(`three nodes started, quorum formed and every node lists every broker in ${Date.now() - started} ms`);
  }, 60_000);
  afterAll(() => cluster?.close(), 30_000);

  test("every node lists three brokers, one controller, and a replication-factor-3 topic with replicas and ISR", async () => {
    expect(await createTopic(cluster, 2, "orders", 3, 3)).toBe(0);
    for (const node of cluster.nodes) {
      await cluster.waitFor(`node ${node.id} sees orders`, async () => (await topicNames(cluster, node.id)).includes("orders") || undefined);
      const metadata = await cluster.metadata(node.id);
      expect(metadata.brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3]);
      const orders = metadata.topics.find((topic) => topic.name === "orders")!;
      expect(orders.partitions).toHaveLength(3);
      for (const partition of orders.partitions) {
        expect(new Set(partition.replicaNodes).size).toBe(3);
        expect(partition.isrNodes.slice().sort()).toEqual([1, 2, 3]);
        expect(partition.replicaNodes).toContain(partition.leaderId);
      }
      // Leadership spread over the brokers.
      expect(new Set(orders.partitions.map((partition) => partition.leaderId)).size).toBe(3);
    }
    const quorum = await cluster.describeQuorum(1);
    expect(quorum.currentVoters.map((voter) => voter.replicaId).sort()).toEqual([1, 2, 3]);
    expect(quorum.highWatermark).toBeGreaterThan(0n);
  }, 60_000);

  test("kcat -L against any node shows three brokers with replicas and ISR", async () => {
    if (!Bun.which("kcat")) {
      console.log("kcat not installed: skipped");
      return;
    }
    for (const node of cluster.nodes) {
      const { text } = await runCommand(["kcat", "-L", "-b", `127.0.0.1:${node.kafkaPort}`, "-t", "orders", "-m", "10"]);
      expect(text).toContain(" 3 brokers:");
      expect(text).toMatch(/partition 0, leader \d, replicas: \d,\d,\d, isrs: \d,\d,\d/);
    }
  }, 60_000);

  test("`runnel cluster --quorum` prints the quorum as kafka-metadata-quorum does", async () => {
    const leader = await cluster.quorumLeader();
    const { text, errors, code } = await runCommand([process.execPath, "src/main.ts", "cluster", "--quorum", "-b", `127.0.0.1:${cluster.node(2).kafkaPort}`]);
    if (code !== 0) console.log(text, errors);
    expect(code).toBe(0);
    expect(text).toContain(`LeaderId:               ${leader}`);
    expect(text).toContain("CurrentVoters:          [1,2,3]");
    expect(text.split("\n").filter((line) => /^\s*\d+\s+\d+\s+\d+/.test(line))).toHaveLength(3);
    expect(text).toContain("Leader");
  }, 30_000);

  test("kill -9 of the quorum leader: the others elect a new one and metadata changes still work", async () => {
    const leader = await cluster.quorumLeader();
    const killedAt = Date.now();
    await cluster.kill(leader);
    const next = await cluster.quorumLeader(15_000);
    const elected = Date.now() - killedAt;
    expect(next).not.toBe(leader);
    const survivor = cluster.liveNodes()[0]!.id;
    expect(await createTopic(cluster, survivor, "after-failover", 1, 2)).toBe(0);
    console.log(`kill -9 of quorum leader ${leader}: node ${next} leads after ${elected} ms; a topic created after ${Date.now() - killedAt} ms`);
    // The killed broker is fenced (Metadata lists the two live ones) and catches up when it returns.
    await cluster.waitForClusterView();
    await cluster.restart(leader);
    await cluster.waitForClusterView();
    await cluster.waitFor(`node ${leader} sees the topic created while it was away`, async () => (await topicNames(cluster, leader)).includes("after-failover") || undefined);
  }, 90_000);

  test("a quorum leader cut off alone commits nothing; the majority elects another and goes on; healed, all agree", async () => {
    const network = cluster.network!;
    const leader = await cluster.quorumLeader();
    const others = cluster.nodes.map((node) => node.id).filter((id) => id !== leader);
    network.partition([leader], others);
    const cutAt = Date.now();
    // The cut-off leader cannot commit: its CreateTopics cannot succeed.
    const lonely = createTopic(cluster, leader, "from-the-minority", 1, 1).catch(() => -1);
    const next = await cluster.waitFor("the majority elects a leader of its own", async () => {
      const named = (await cluster.describeQuorum(others[0]!)).leaderId;
      return others.includes(named) ? named : undefined;
    }, 20_000);
    console.log(`minority cut: the majority elected node ${next} after ${Date.now() - cutAt} ms`);
    expect(await createTopic(cluster, others[1]!, "from-the-majority", 1, 2)).toBe(0);
    expect(await lonely).not.toBe(0);
    network.heal();
    for (const node of cluster.nodes) {
      await cluster.waitFor(`node ${node.id} agrees after the heal`, async () => {
        const names = await topicNames(cluster, node.id);
        return names.includes("from-the-majority") && !names.includes("from-the-minority") ? true : undefined;
      });
    }
    expect(await cluster.quorumLeader()).toBe(next);
  }, 90_000);

  test("a follower cut off alone does not disturb the leader (pre-vote): healed, the leader is the same", async () => {
    const network = cluster.network!;
    const leader = await cluster.quorumLeader();
    const epochBefore = (await cluster.describeQuorum(leader)).leaderEpoch;
    const follower = cluster.nodes.map((node) => node.id).find((id) => id !== leader)!;
    network.isolate(follower);
    // Long enough for several election timeouts of the isolated node.
    expect(await createTopic(cluster, leader, "while-isolated", 1, 1)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    network.heal();
    await cluster.waitFor(`node ${follower} catches up`, async () => (await topicNames(cluster, follower)).includes("while-isolated") || undefined);
    const after = await cluster.describeQuorum(leader);
    expect(after.leaderId).toBe(leader);
    expect(after.leaderEpoch).toBe(epochBefore);
    await cluster.waitForClusterView();
  }, 90_000);

  test("a stopped broker is fenced within the session timeout; its partition leaderships move to another ISR member", async () => {
    const leader = await cluster.quorumLeader();
    const victim = cluster.nodes.map((node) => node.id).find((id) => id !== leader)!;
    // A new topic's leaders are spread over the three brokers: the victim leads one.
    expect(await createTopic(cluster, leader, "fence-me", 3, 3)).toBe(0);
    const ledBefore = (await cluster.metadata(leader)).topics.find((topic) => topic.name === "fence-me")!.partitions.filter((partition) => partition.leaderId === victim);
    expect(ledBefore.length).toBeGreaterThan(0);
    const stoppedAt = Date.now();
    cluster.pause(victim);
    try {
      await cluster.waitFor(`broker ${victim} fenced and its leaderships moved`, async () => {
        const metadata = await cluster.metadata(leader);
        if (metadata.brokers.some((broker) => broker.nodeId === victim)) return undefined;
        const topic = metadata.topics.find((candidate) => candidate.name === "fence-me")!;
        return topic.partitions.every((partition) => partition.leaderId !== victim && partition.leaderId >= 0 && !partition.isrNodes.includes(victim)) || undefined;
      }, 15_000);
      console.log(`SIGSTOP of broker ${victim}: fenced and its ${ledBefore.length} leaderships moved after ${Date.now() - stoppedAt} ms`);
    } finally {
      cluster.resume(victim);
    }
    await cluster.waitForClusterView();
  }, 60_000);

  test("a node away while the log was trimmed below a snapshot catches up from the leader's snapshot", async () => {
    const leader = await cluster.quorumLeader();
    const away = cluster.nodes.map((node) => node.id).find((id) => id !== leader)!;
    await cluster.kill(away);
    // Enough metadata changes for several snapshots (every ~2 kB of records) and trims.
    for (let index = 0; index < 12; index++) expect(await createTopic(cluster, leader, `trimmed-${index}`, 1, 1)).toBe(0);
    await cluster.restart(away);
    await cluster.waitFor(`node ${away} sees every topic`, async () => (await topicNames(cluster, away)).filter((name) => name.startsWith("trimmed-")).length === 12 || undefined);
    // Its log (stderr) is read once the process has exited.
    await cluster.terminate(away);
    expect(cluster.output(away)).toContain("installed a metadata snapshot from the quorum leader");
    await cluster.start(away);
    await cluster.waitForClusterView();
  }, 90_000);

  test("a restart of every node keeps every topic", async () => {
    const before = await topicNames(cluster, 1);
    for (const node of cluster.nodes) await cluster.kill(node.id);
    await cluster.startAll();
    await cluster.waitForClusterView();
    for (const node of cluster.nodes) {
      await cluster.waitFor(`node ${node.id} lists the topics`, async () => ((await topicNames(cluster, node.id)).join() === before.join() ? true : undefined));
    }
    expect(before).toContain("orders");
  }, 90_000);
});

describe("a broker whose process dies", () => {
  let cluster: TestCluster;
  // A session timeout far longer than the test: only the closed heartbeat connection can fence.
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, set: { "broker.session.timeout.ms": 120_000, "offsets.topic.num.partitions": 1 } });
  }, 60_000);
  afterAll(() => cluster?.close(), 30_000);

  test("is fenced at once when its heartbeat connection closes, not after broker.session.timeout.ms", async () => {
    const leader = await cluster.quorumLeader();
    const victim = cluster.nodes.map((node) => node.id).find((id) => id !== leader)!;
    const killedAt = Date.now();
    await cluster.kill(victim);
    await cluster.waitFor(`broker ${victim} fenced`, async () => {
      const brokers = (await cluster.metadata(leader)).brokers.map((broker) => broker.nodeId);
      return brokers.includes(victim) ? undefined : true;
    }, 20_000);
    console.log(`kill -9 of broker ${victim}: fenced after ${Date.now() - killedAt} ms (session timeout 120 s)`);
  }, 60_000);
});

describe("a broker shut down with SIGTERM", () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, set: { "broker.session.timeout.ms": 120_000, "offsets.topic.num.partitions": 1 }, env: { RUNNEL_LOG_LEVEL: "info" } });
  }, 60_000);
  afterAll(() => cluster?.close(), 30_000);

  test("hands its leaderships over before it stops (fenced while still running)", async () => {
    const leader = await cluster.quorumLeader();
    expect(await createTopic(cluster, leader, "handed", 3, 3)).toBe(0);
    const victim = cluster.nodes.map((node) => node.id).find((id) => id !== leader)!;
    const stoppedAt = Date.now();
    expect(await cluster.terminate(victim)).toBe(0);
    const stopMs = Date.now() - stoppedAt;
    expect(cluster.output(victim)).toContain("controlled shutdown: leaderships moved, fenced");
    const topic = (await cluster.metadata(leader)).topics.find((candidate) => candidate.name === "handed")!;
    expect(topic.partitions.every((partition) => partition.leaderId >= 0 && partition.leaderId !== victim)).toBe(true);
    expect(cluster.output(victim)).not.toContain("controller could not be reached");
    console.log(`SIGTERM of broker ${victim}: controlled shutdown done and stopped in ${stopMs} ms`);
  }, 60_000);
});

test("a one-node cluster (no controller.quorum.voters) answers DescribeQuorum for itself, and GET …/quorum over HTTP", async () => {
  const { startBroker } = await import("../helpers/broker.ts");
  const { connectTo } = await import("../helpers/connection.ts");
  const { DescribeQuorumApi } = await import("../../src/protocol/generated/describe-quorum.ts");
  await using broker = await startBroker();
  const connection = await connectTo(broker.bootstrap);
  try {
    const answer = await connection.request(DescribeQuorumApi, { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] }, { version: 1 });
    const partition = answer.topics[0]!.partitions[0]!;
    expect(partition).toMatchObject({ errorCode: 0, leaderId: 1 });
    expect(partition.currentVoters.map((voter) => voter.replicaId)).toEqual([1]);
    expect(partition.highWatermark).toBeGreaterThan(0n);
    // The same over HTTP.
    const clusters = await (await fetch(`${broker.httpUrl}/v3/clusters`)).json() as { data: { cluster_id: string }[] };
    const quorum = await (await fetch(`${broker.httpUrl}/v3/clusters/${clusters.data[0]!.cluster_id}/quorum`)).json() as Record<string, unknown>;
    expect(quorum).toMatchObject({ kind: "KafkaQuorum", leader_id: 1, voters: [{ replica_id: 1, lag: 0 }] });
  } finally {
    connection.close();
  }
}, 30_000);
