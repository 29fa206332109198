// A broker's registration and heartbeats in a many-node cluster (docs/replication.md §3): register
// with the active controller (retried until there is one), then heartbeat every
// broker.heartbeat.interval.ms with the offset of the metadata this node has applied; the controller
// unfences the broker once that offset reaches its registration. `start` resolves when the broker
// is unfenced; heartbeats go on until `close`. A controller that no longer knows this registration
// (STALE_BROKER_EPOCH, BROKER_ID_NOT_REGISTERED) gets a new one. A one-node cluster registers once
// in-process instead (node.ts).

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { ClusterAdmin } from "./admin.ts";
import type { MetadataPublisher } from "./publisher.ts";
import type { Endpoint } from "./records.ts";

export interface BrokerLifecycleOptions {
  admin: ClusterAdmin;
  publisher: MetadataPublisher;
  nodeId: number;
  incarnationId: string;
  cleanShutdown: boolean;
  /** broker.rack (null: none). */
  rack?: string | null;
  heartbeatIntervalMs: number;
  logger: Logger;
}

export class BrokerLifecycle {
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private brokerEpoch = -1n;
  private fenced = true;
  private unfenced: (() => void) | null = null;
  /** When the controller last answered a heartbeat (performance.now() ms; -Infinity: never). */
  private lastAnsweredMs = -Infinity;

  constructor(private readonly options: BrokerLifecycleOptions) {}

  get epoch(): bigint {
    return this.brokerEpoch;
  }

  /**
   * A member of the cluster now: unfenced at the last heartbeat, answered within `sessionTimeoutMs`
   * (past that the controller has fenced this broker, even if this node could not hear it).
   */
  isMember(sessionTimeoutMs: number): boolean {
    return !this.closed && !this.fenced && performance.now() - this.lastAnsweredMs < sessionTimeoutMs;
  }

  /** Register with `endpoints` and heartbeat; resolves with the broker epoch once unfenced. */
  async start(endpoints: Endpoint[]): Promise<bigint> {
    this.endpoints = endpoints;
    const live = new Promise<void>((resolve) => (this.unfenced = resolve));
    await this.register();
    this.beat();
    await live;
    return this.brokerEpoch;
  }

  private endpoints: Endpoint[] = [];

  private async register(): Promise<void> {
    const { admin, nodeId, incarnationId, cleanShutdown, logger } = this.options;
    for (;;) {
      if (this.closed) throw new Error("closed before the broker registered");
      try {
        this.brokerEpoch = await admin.registerBroker({ brokerId: nodeId, incarnationId, endpoints: this.endpoints, rack: this.options.rack ?? null, cleanShutdown });
        admin.brokerEpoch = this.brokerEpoch;
        this.fenced = true;
        logger.info("broker registered with the controller", { brokerEpoch: String(this.brokerEpoch), controller: admin.activeControllerId });
        return;
      } catch (error) {
        logger.debug?.("registration failed; retrying", { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, this.options.heartbeatIntervalMs));
      }
    }
  }

  private beat(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.heartbeatOnce().finally(() => this.beat()), this.fenced ? Math.min(50, this.options.heartbeatIntervalMs) : this.options.heartbeatIntervalMs);
  }

  private async heartbeatOnce(): Promise<void> {
    const { admin, publisher, nodeId, logger } = this.options;
    try {
      const answer = await admin.brokerHeartbeat({ brokerId: nodeId, brokerEpoch: this.brokerEpoch, currentMetadataOffset: publisher.image.offset });
      if (answer.isFenced !== this.fenced) logger.info(answer.isFenced ? "this broker is fenced" : "this broker is unfenced", { brokerEpoch: String(this.brokerEpoch) });
      this.fenced = answer.isFenced;
      this.lastAnsweredMs = performance.now();
      if (!answer.isFenced && this.unfenced) {
        this.unfenced();
        this.unfenced = null;
      }
    } catch (error) {
      if (this.closed) return;
      const code = error instanceof KafkaError ? error.code : -1;
      if (code === ErrorCode.STALE_BROKER_EPOCH || code === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        logger.warn("the controller no longer knows this registration; registering again", { brokerEpoch: String(this.brokerEpoch) });
        await this.register().catch(() => {});
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
