// Several real Runnel nodes in one test process (test-only): each with its own data directory, its
// own storage, its own Kafka listener on a loopback port, and the replica fetchers talking real
// Kafka Fetch over real TCP between them. The metadata quorum is replaced by one SharedMetadataLog
// (shared-metadata-log.ts) every node applies; a "crash" closes a node's listeners and files (no
// clean-shutdown bookkeeping is skipped: tests that need a kill -9 use broker processes) and
// `fence` does what the controller's session timeout would.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBrokerConfig } from "../config/index.ts";
import { startNode, type RunningNode } from "../node.ts";
import { assert } from "../util/assert.ts";
import { SharedMetadataLog } from "./shared-metadata-log.ts";

export interface InProcessClusterOptions {
  nodes: number;
  /** Broker config for every node (Kafka's names). */
  config?: Readonly<Record<string, string | number | boolean>>;
}

export class InProcessCluster {
  readonly metadata = new SharedMetadataLog();
  readonly nodes = new Map<number, RunningNode>();
  private readonly dataDirs = new Map<number, string>();
  private readonly root: string;

  private constructor(private readonly options: InProcessClusterOptions) {
    this.root = mkdtempSync(join(tmpdir(), "runnel-cluster-"));
  }

  /** Start nodes 1…n, each registered and live, and wait until every one is ready. */
  static async start(options: InProcessClusterOptions): Promise<InProcessCluster> {
    const cluster = new InProcessCluster(options);
    try {
      for (let id = 1; id <= options.nodes; id++) await cluster.startNode(id, false);
      await Promise.all([...cluster.nodes.values()].map((node) => node.ready));
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  node(id: number): RunningNode {
    const node = this.nodes.get(id);
    assert(node !== undefined, `node ${id} is running`);
    return node;
  }

  /** "host:port,…" of the running nodes. */
  get bootstrap(): string {
    return [...this.nodes.values()].map((node) => `${node.kafka.host}:${node.kafka.port}`).join(",");
  }

  dataDir(id: number): string {
    let directory = this.dataDirs.get(id);
    if (!directory) this.dataDirs.set(id, (directory = join(this.root, `node-${id}`)));
    return directory;
  }

  /** Start (or restart) node `id` on its data directory. */
  async startNode(id: number, waitReady = true): Promise<RunningNode> {
    assert(!this.nodes.has(id), `node ${id} is not running`);
    const overrides: [string, string][] = [
      ["node.id", String(id)],
      ["log.dirs", this.dataDir(id)],
      ["listeners", "PLAINTEXT://127.0.0.1:0"],
      ...Object.entries(this.options.config ?? {}).map(([key, value]): [string, string] => [key, String(value)]),
    ];
    const node = await startNode(loadBrokerConfig({ overrides }), { metadataLog: this.metadata.view(id), clusterSize: this.options.nodes });
    this.nodes.set(id, node);
    if (waitReady) await node.ready;
    return node;
  }

  /**
   * Stop node `id` as a crash would leave the cluster: no controlled shutdown (its listeners,
   * fetchers and files close); it stays registered, leader and ISR member until `fence`d.
   */
  async stopNode(id: number): Promise<void> {
    const node = this.node(id);
    this.nodes.delete(id);
    await node.close({ controlledShutdown: false });
  }

  /** Stop node `id` as SIGTERM does: a controlled shutdown first (its leaderships move). */
  async shutdownNode(id: number): Promise<void> {
    const node = this.node(id);
    this.nodes.delete(id);
    await node.close();
  }

  /** The controller's reaction to a dead broker: fenced, out of every ISR, its leaderships moved. */
  fence(id: number): bigint {
    return this.metadata.fence(id);
  }

  /** Resolves once every running node's published image reached `offset`. */
  async published(offset: bigint): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.core.publisher.waitForPublished(offset)));
  }

  async close(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stopNode(id).catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }
}
