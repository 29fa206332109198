// The balancer on the active controller (docs/elastic.md): every replica.rebalance.check.interval.ms
// it plans (balancer.ts) and starts reassignments — draining brokers marked for decommissioning and
// brokers fenced longer than broker.failure.rereplication.grace.ms, then, with
// auto.replica.rebalance.enable, evening out the replica count over the live brokers (a broker that
// joined receives its share). Each plan moves at most replica.rebalance.max.partition.moves
// partitions; the next plan waits until they completed through their ISR. With
// auto.leader.rebalance.enable, every leader.imbalance.check.interval.seconds it runs a preferred
// leader election for the partitions of brokers whose share of preferred leaderships held elsewhere
// exceeds leader.imbalance.per.broker.percentage (Kafka's rule). Given a way to ask brokers their
// DescribeLogDirs, each plan also knows the partitions' sizes and evens out bytes as well as counts
// (gaps under a tenth of the mean bytes per broker, or under 64 MiB, are left alone).
//
// It runs on every node and acts only where the controller is active; its state (when a broker was
// first seen fenced, counters) lives in memory: a new controller starts the grace period afresh.

import type { LoadedBrokerConfig } from "../../config/index.ts";
import type { Logger } from "../../util/logger.ts";
import type { MetadataImage } from "../image.ts";
import { imbalancedLeaders, planReassignments } from "./balancer.ts";
import { type AskLogDirs, bytesTolerance, gatherPartitionSizes } from "./partition-sizes.ts";
import type { QuorumController } from "./quorum-controller.ts";
import { decommissioningBrokers } from "./reassignment-operations.ts";
import { isReassigning } from "./reassignment.ts";

/** Below this gap between two brokers no replica moves for bytes alone (64 MiB). */
const minimumBytesImbalance = 64 * 1024 * 1024;

export interface BalancerStatus {
  /** Partition reassignments this controller started. */
  reassignmentsStarted: number;
  /** Reassignments in progress in the image. */
  reassigning: number;
  /** Brokers being drained (decommissioning, or gone past the grace period). */
  draining: number[];
  /** Preferred-leader elections this controller ran. */
  leaderElections: number;
}

export class ReplicaBalancer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private readonly fencedSince = new Map<number, number>();
  private lastLeaderCheckMs = Date.now();
  private reassignmentsStarted = 0;
  private leaderElections = 0;

  constructor(
    private readonly controller: QuorumController,
    private readonly config: LoadedBrokerConfig,
    private readonly logger: Logger,
    /** How to ask a broker for its replicas' sizes (DescribeLogDirs); absent: balance by count only. */
    private readonly askLogDirs?: AskLogDirs,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  status(image: MetadataImage): BalancerStatus {
    let reassigning = 0;
    for (const topic of image.topicsByName.values()) for (const partition of topic.partitions) if (isReassigning(partition)) reassigning++;
    return { reassignmentsStarted: this.reassignmentsStarted, reassigning, draining: [...this.draining(image)].sort(), leaderElections: this.leaderElections };
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.tick(), this.config.values["replica.rebalance.check.interval.ms"]);
    this.timer.unref?.();
  }

  /** Decommissioning brokers and brokers fenced for longer than the grace period. */
  private draining(image: MetadataImage): Set<number> {
    const draining = decommissioningBrokers(image);
    const grace = this.config.values["broker.failure.rereplication.grace.ms"];
    const now = Date.now();
    for (const broker of image.brokers.values()) {
      if (!broker.fenced) {
        this.fencedSince.delete(broker.id);
        continue;
      }
      const since = this.fencedSince.get(broker.id) ?? now;
      this.fencedSince.set(broker.id, since);
      if (grace >= 0 && now - since >= grace) draining.add(broker.id);
    }
    return draining;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      if (this.controller.isActive) {
        await this.balanceReplicas();
        await this.balanceLeaders();
      } else {
        this.fencedSince.clear();
      }
    } catch (error) {
      this.logger.warn("balancer round failed; retrying at the next interval", { error: String(error) });
    } finally {
      this.running = false;
      if (this.timer !== null) this.schedule();
    }
  }

  private async balanceReplicas(): Promise<void> {
    const image = this.controller.committedImage;
    const values = this.config.values;
    const draining = this.draining(image);
    const sizes = await this.partitionSizes(image, draining);
    const moves = planReassignments(image, {
      draining, maxMoves: values["replica.rebalance.max.partition.moves"], balance: values["auto.replica.rebalance.enable"], ...sizes,
    });
    if (moves.length === 0) return;
    const { value } = await this.controller.alterPartitionReassignments(moves);
    const started = value.filter((answer) => answer.errorCode === 0).length;
    this.reassignmentsStarted += started;
    this.logger.info("balancer: reassigning partitions", { started, refused: value.length - started, moves: moves.map((move) => `${move.topic}-${move.partition}→${move.replicas!.join(",")}`).join(" ") });
  }

  /** Sizes of every partition from the live brokers, and the bytes gap tolerated; {} when unknown. */
  private async partitionSizes(image: MetadataImage, draining: ReadonlySet<number>): Promise<{ partitionBytes?: Map<string, number>; bytesTolerance?: number }> {
    if (this.askLogDirs === undefined) return {};
    const live = [...image.brokers.values()].filter((broker) => !broker.fenced).map((broker) => broker.id);
    const partitionBytes = await gatherPartitionSizes(live, this.askLogDirs, this.config.values["controller.quorum.request.timeout.ms"]);
    if (partitionBytes === null) return {};
    let total = 0;
    for (const topic of image.topicsByName.values()) {
      for (const partition of topic.partitions) total += (partitionBytes.get(`${topic.name}-${partition.partition}`) ?? 0) * partition.replicas.length;
    }
    const targets = live.filter((id) => !draining.has(id)).length;
    return { partitionBytes, bytesTolerance: bytesTolerance(total, targets, minimumBytesImbalance) };
  }

  private async balanceLeaders(): Promise<void> {
    const values = this.config.values;
    if (!values["auto.leader.rebalance.enable"]) return;
    if (Date.now() - this.lastLeaderCheckMs < values["leader.imbalance.check.interval.seconds"] * 1000) return;
    this.lastLeaderCheckMs = Date.now();
    const image = this.controller.committedImage;
    const imbalanced = imbalancedLeaders(image);
    if (imbalanced.length === 0) return;
    // Kafka's rule: per preferred broker, the share of its preferred partitions led elsewhere.
    const preferredCount = new Map<number, number>();
    for (const topic of image.topicsByName.values()) {
      for (const partition of topic.partitions) preferredCount.set(partition.replicas[0]!, (preferredCount.get(partition.replicas[0]!) ?? 0) + 1);
    }
    const byBroker = new Map<number, { topic: string; partition: number }[]>();
    for (const entry of imbalanced) {
      const preferred = image.topicsByName.get(entry.topic)!.partitions[entry.partition]!.replicas[0]!;
      byBroker.set(preferred, [...(byBroker.get(preferred) ?? []), entry]);
    }
    const wanted = [...byBroker].filter(([broker, entries]) => (entries.length * 100) / preferredCount.get(broker)! > values["leader.imbalance.per.broker.percentage"]).flatMap(([, entries]) => entries);
    if (wanted.length === 0) return;
    const { value } = await this.controller.electLeaders(0, wanted);
    const elected = value.filter((answer) => answer.errorCode === 0).length;
    this.leaderElections += elected;
    this.logger.info("balancer: preferred leaders elected", { elected });
  }
}
