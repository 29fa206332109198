// A cluster of real Runnel broker processes on loopback, for the tests of test/cluster/ (and the
// chaos tests written on it). Each node is `bun src/main.ts` with its own data directory, a Kafka
// listener and an internal (CONTROLLER) listener; `controller.quorum.voters` names every node. With
// `proxies: true` each node's internal listener sits behind a FaultNetwork proxy
// (src/testing/fault-proxy.ts): the voters list names the proxy's port, the node binds another
// (its explicit CONTROLLER listener), so `cluster.network.partition([1], [2, 3])` cuts node 1 off.
//
//   const cluster = await startCluster({ nodes: 3, proxies: true });
//   afterAll(() => cluster.close());        // always: kills every process, removes the directories
//   await cluster.waitForClusterView();     // every live node's Metadata lists every live broker
//   const leader = await cluster.quorumLeader();
//   await cluster.kill(leader);             // kill -9
//   await cluster.restart(leader);          // same data dir and ports
//   cluster.pause(2); cluster.resume(2);    // SIGSTOP / SIGCONT
//
// Everything is bounded in time: start-ups, waits and close; a failure names the node and shows
// the tail of its output. The proxies run in the test's own process: never block it (no
// Bun.spawnSync or sleeps of the event loop) while the nodes must talk to each other.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KafkaConnection } from "../../src/client/connection.ts";
import type { ClientSecurity } from "../../src/client/security.ts";
import { DescribeQuorumApi } from "../../src/protocol/generated/describe-quorum.ts";
import { MetadataApi } from "../../src/protocol/generated/metadata.ts";
import { FaultNetwork } from "../../src/testing/fault-proxy.ts";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";

const repoRoot = resolve(import.meta.dir, "../..");
const listeningLine = /^kafka listening on (.+):(\d+)$/;
const readyLine = /^runnel ready: /;

export interface ClusterOptions {
  /** Nodes, all voters (default 3). */
  nodes?: number;
  /** Put each node's internal listener behind a fault-injecting proxy (cluster.network). */
  proxies?: boolean;
  /** Broker config for every node (--set key=value). */
  set?: Record<string, string | number | boolean>;
  /** Extra environment; RUNNEL_LOG_LEVEL defaults to "warn". */
  env?: Record<string, string>;
  /** Arguments of bun itself before src/main.ts (bench: `--cpu-prof …`); not used with RUNNEL_BIN. */
  bunArgs?: string[];
  /** Bound of each start-up and wait, ms (default 30 s). */
  timeoutMs?: number;
  /** Give every node an HTTP listener too (ClusterNode.httpPort). */
  http?: boolean;
  /** The Kafka listener's name and security protocol (default PLAINTEXT); SSL ones need the ssl.* keys in `set`. */
  kafkaProtocol?: "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
  /** The internal listener's security protocol (default PLAINTEXT), through listener.security.protocol.map. */
  controllerProtocol?: "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
  /** How the harness's own connections (connect, ask, metadata) authenticate. */
  clientSecurity?: ClientSecurity;
}

export interface ClusterNode {
  readonly id: number;
  readonly dataDir: string;
  /** Kafka listener port (kept across restarts). */
  kafkaPort: number;
  /** HTTP listener port, with ClusterOptions.http (else 0). */
  readonly httpPort: number;
  /** The port the node's internal listener binds. */
  readonly controllerPort: number;
  /** The port other nodes use to reach it (the proxy's, with proxies). */
  readonly voterPort: number;
  process: LineProcess | null;
  paused: boolean;
  /** stdout lines and stderr of earlier runs, for failure messages. */
  history: string[];
  /** Not a voter: joins through controller.quorum.bootstrap.servers (KIP-853) as a Raft observer. */
  readonly observer: boolean;
  /** Broker config of this node only (--set key=value, after the cluster's). */
  readonly extraSet?: Record<string, string | number | boolean>;
  /** controller.quorum.bootstrap.servers of a node added later (default: the original voters'). */
  readonly bootstrapServers?: string;
}

// Ports a node must know before it starts (its voters entry, kept across restarts) are taken
// below the kernel's ephemeral range (32768–60999 here): a port the kernel handed out for port 0
// and that we released could be handed to any other process on this shared machine before the
// node binds it (seen: EADDRINUSE under a parallel load of test runs). Below the range only
// another harness picking the same random port can collide, and the bind check catches a taken one.
const portRangeLow = 10_000;
const portRangeSize = 22_000;
/** Handed out by this process already (a released port is free again to the bind check). */
const portsHandedOut = new Set<number>();

async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = portRangeLow + Math.floor(Math.random() * portRangeSize);
    if (portsHandedOut.has(candidate)) continue;
    try {
      const listener = Bun.listen({ hostname: "127.0.0.1", port: candidate, socket: { data() {} } });
      listener.stop(true);
      portsHandedOut.add(candidate);
      return candidate;
    } catch {
      // Taken: try another.
    }
  }
  throw new Error("no free port below the ephemeral range after 200 tries");
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class TestCluster {
  readonly nodes: ClusterNode[] = [];
  readonly network: FaultNetwork | null;
  private readonly root: string;
  private closed = false;
  readonly timeoutMs: number;

  constructor(private readonly options: ClusterOptions) {
    this.network = options.proxies ? new FaultNetwork() : null;
    this.root = mkdtempSync(join(tmpdir(), "runnel-cluster-"));
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  get kafkaProtocol(): string {
    return this.options.kafkaProtocol ?? "PLAINTEXT";
  }

  get voters(): string {
    return this.nodes.filter((node) => !node.observer).map((node) => `${node.id}@127.0.0.1:${node.voterPort}`).join(",");
  }

  /** The voters' internal listeners as controller.quorum.bootstrap.servers lists them. */
  get bootstrapServers(): string {
    return this.nodes.filter((node) => !node.observer).map((node) => `127.0.0.1:${node.voterPort}`).join(",");
  }

  /**
   * Add a broker that is not a voter (started with controller.quorum.bootstrap.servers and its own
   * internal port; no proxy in front of it) and start it; resolves with its id once it is ready.
   */
  async addBroker(options: { set?: Record<string, string | number | boolean>; bootstrapServers?: string } = {}): Promise<number> {
    const id = Math.max(...this.nodes.map((node) => node.id)) + 1;
    const controllerPort = await freePort();
    this.nodes.push({
      id, dataDir: join(this.root, `node-${id}`), kafkaPort: await freePort(), httpPort: 0, controllerPort, voterPort: controllerPort,
      process: null, paused: false, history: [], observer: true, extraSet: options.set ?? {}, bootstrapServers: options.bootstrapServers,
    });
    await this.start(id);
    return id;
  }

  /** Every live node's Kafka address, comma-separated (a client's bootstrap list). */
  get bootstrap(): string {
    return this.liveNodes().map((node) => `127.0.0.1:${node.kafkaPort}`).join(",");
  }

  node(id: number): ClusterNode {
    const node = this.nodes.find((candidate) => candidate.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  liveNodes(): ClusterNode[] {
    return this.nodes.filter((node) => node.process !== null && !node.paused);
  }

  async prepare(): Promise<void> {
    const count = this.options.nodes ?? 3;
    for (let id = 1; id <= count; id++) {
      const controllerPort = await freePort();
      const proxy = this.network?.proxyFor(id, { host: "127.0.0.1", port: controllerPort });
      this.nodes.push({
        id, dataDir: join(this.root, `node-${id}`), kafkaPort: await freePort(), httpPort: this.options.http ? await freePort() : 0, controllerPort, voterPort: proxy?.port ?? controllerPort,
        process: null, paused: false, history: [], observer: false,
      });
    }
  }

  /** Start node `id` (its process must not be running); resolves once it printed `kafka listening`. */
  async start(id: number, options: { waitReady?: boolean } = {}): Promise<void> {
    const node = this.node(id);
    if (node.process) throw new Error(`node ${id} is running`);
    const args = node.observer
      ? [
        "--node-id", String(id), "--data-dir", node.dataDir,
        "--set", `listeners=${this.kafkaProtocol}://127.0.0.1:${node.kafkaPort},CONTROLLER://127.0.0.1:${node.controllerPort},HTTP://127.0.0.1:0`,
        "--set", `controller.quorum.bootstrap.servers=${node.bootstrapServers ?? this.bootstrapServers}`,
      ]
      : [
        "--node-id", String(id), "--data-dir", node.dataDir,
        "--set", `listeners=${this.kafkaProtocol}://127.0.0.1:${node.kafkaPort},CONTROLLER://127.0.0.1:${node.controllerPort}${node.httpPort ? `,HTTP://127.0.0.1:${node.httpPort}` : ""}`,
        "--set", `controller.quorum.voters=${this.voters}`,
      ];
    if (this.options.controllerProtocol) args.push("--set", `listener.security.protocol.map=${this.kafkaProtocol}:${this.kafkaProtocol},CONTROLLER:${this.options.controllerProtocol}`);
    for (const [key, value] of Object.entries({ ...this.options.set, ...node.extraSet })) args.push("--set", `${key}=${value}`);
    const command = process.env.RUNNEL_BIN ? [process.env.RUNNEL_BIN, ...args] : [process.execPath, ...(this.options.bunArgs ?? []), join(repoRoot, "src/main.ts"), ...args];
    const child = spawnLines(command, { cwd: repoRoot, env: { RUNNEL_LOG_LEVEL: "warn", ...this.options.env } });
    node.process = child;
    node.paused = false;
    try {
      await withTimeout(child.waitForLine((line) => listeningLine.test(line)), this.timeoutMs, `node ${id} start`);
      if (options.waitReady !== false) await withTimeout(child.waitForLine((line) => readyLine.test(line)), this.timeoutMs, `node ${id} ready`);
    } catch (error) {
      await this.forget(node, true);
      throw new Error(`${(error as Error).message}\n--- node ${id} output ---\n${node.history.slice(-40).join("\n")}`);
    }
  }

  /** Start every node at once (they elect a quorum leader together). */
  async startAll(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.start(node.id)));
  }

  private async forget(node: ClusterNode, kill: boolean): Promise<void> {
    const child = node.process;
    if (!child) return;
    if (node.paused) child.process.kill("SIGCONT");
    if (kill) await child.kill9();
    const stderr = await withTimeout(child.stderr(), 5000, "stderr").catch(() => "");
    node.history.push(...child.lines, ...stderr.split("\n"));
    node.process = null;
    node.paused = false;
  }

  /** kill -9: nothing flushed, sockets closed by the kernel. */
  async kill(id: number): Promise<void> {
    await this.forget(this.node(id), true);
  }

  /** SIGTERM, waiting for the exit (SIGKILL after the timeout). */
  async terminate(id: number): Promise<number> {
    const node = this.node(id);
    const child = node.process;
    if (!child) return 0;
    if (node.paused) child.process.kill("SIGCONT");
    child.process.kill("SIGTERM");
    const timer = setTimeout(() => child.process.kill("SIGKILL"), this.timeoutMs);
    const code = await child.exited;
    clearTimeout(timer);
    await this.forget(node, false);
    return code;
  }

  /** Start a stopped node again on its data directory and ports. */
  async restart(id: number): Promise<void> {
    const node = this.node(id);
    if (node.process) await this.kill(id);
    await this.start(id);
  }

  /** SIGSTOP: the process freezes, its sockets stay open. */
  pause(id: number): void {
    const node = this.node(id);
    node.process?.process.kill("SIGSTOP");
    node.paused = true;
  }

  resume(id: number): void {
    const node = this.node(id);
    node.process?.process.kill("SIGCONT");
    node.paused = false;
  }

  /** A Kafka client connection to node `id`'s Kafka listener (close it when done). */
  connect(id: number, clientId = "cluster-test", security = this.options.clientSecurity): Promise<KafkaConnection> {
    return KafkaConnection.connect({
      host: "127.0.0.1", port: this.node(id).kafkaPort, clientId, requestTimeoutMs: 5000, connectTimeoutMs: 5000, ...(security ? { security } : {}),
    });
  }

  /** Ask node `id` something over a fresh connection. */
  async ask<T>(id: number, question: (connection: KafkaConnection) => Promise<T>): Promise<T> {
    const connection = await this.connect(id);
    try {
      return await question(connection);
    } finally {
      connection.close();
    }
  }

  /** Poll `check` until it returns a value other than undefined (every 50 ms, bounded). */
  async waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = this.timeoutMs): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = await check();
        if (value !== undefined) return value;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${lastError ? ` (last error: ${String(lastError)})` : ""}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Node `id`'s Metadata answer (all topics). */
  metadata(id: number) {
    return this.ask(id, (connection) => connection.request(MetadataApi, { topics: null, allowAutoTopicCreation: false }, { version: 12 }));
  }

  /** DescribeQuorum as node `id` answers it (the leader's view). */
  async describeQuorum(id: number) {
    const response = await this.ask(id, (connection) =>
      connection.request(DescribeQuorumApi, { topics: [{ topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] }] }, { version: 1 }));
    const partition = response.topics[0]?.partitions[0];
    if (!partition || partition.errorCode !== 0) throw new Error(`node ${id}: DescribeQuorum error ${partition?.errorCode ?? response.errorCode}`);
    return partition;
  }

  /** The metadata quorum's leader as every live node's DescribeQuorum names it (waits until they agree on a live one). */
  quorumLeader(timeoutMs = this.timeoutMs): Promise<number> {
    return this.waitFor("a quorum leader every live node names", async () => {
      const leaders = await Promise.all(this.liveNodes().map(async (node) => (await this.describeQuorum(node.id)).leaderId));
      const leader = leaders[0];
      return leader !== undefined && leaders.every((candidate) => candidate === leader) && this.liveNodes().some((node) => node.id === leader) ? leader : undefined;
    }, timeoutMs);
  }

  /** Wait until every live node's Metadata lists exactly the live nodes as brokers. */
  waitForClusterView(timeoutMs = this.timeoutMs): Promise<void> {
    const wanted = this.liveNodes().map((node) => node.id).sort();
    return this.waitFor(`every live node lists brokers ${wanted.join(",")}`, async () => {
      for (const node of this.liveNodes()) {
        const brokers = (await this.metadata(node.id)).brokers.map((broker) => broker.nodeId).sort();
        if (brokers.join(",") !== wanted.join(",")) return undefined;
      }
      return true;
    }, timeoutMs).then(() => {});
  }

  /** Output of node `id` (this run and earlier ones), for failure messages. */
  output(id: number): string {
    const node = this.node(id);
    return [...node.history, ...(node.process?.lines ?? [])].slice(-60).join("\n");
  }

  /** Kill every process, close the proxies, remove the data directories. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.nodes.map((node) => withTimeout(this.forget(node, true), 10_000, `kill node ${node.id}`).catch(() => {})));
    if (this.network) for (const node of this.nodes) this.network.proxy(node.id).close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Start a cluster and wait until every node lists every node; closes it again if that fails. */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const cluster = new TestCluster(options);
  try {
    await cluster.prepare();
    await cluster.startAll();
    await cluster.waitForClusterView();
    return cluster;
  } catch (error) {
    await cluster.close();
    throw error;
  }
}
