// The replica fetchers of this node (Kafka's ReplicaFetcherManager): one ReplicaFetcher per leader
// broker this node follows partitions of, so one long-poll request per leader–follower pair
// carries every such partition. The ReplicaManager tells it which replicas follow whom as the
// reconciler applies the metadata image: a partition whose leader changes moves to the new
// leader's fetcher; one that stops following (it leads, is removed, or the node is fenced) leaves
// its fetcher; a fetcher left with no partition is closed.
//
// Where a leader is reached: `replicaFetchEndpoint` (endpoint.ts) — the one place that picks the
// listener from the leader's broker registration.

import type { MetadataImage } from "../../cluster/image.ts";
import type { Logger } from "../../util/logger.ts";
import type { Partition } from "../partition.ts";
import { replicaFetchEndpoint } from "./endpoint.ts";
import { ReplicaFetcher, type FetcherContext, type FetcherSettings } from "./replica-fetcher.ts";

export interface ReplicaFetcherManagerOptions {
  nodeId: number;
  brokerEpoch(): bigint;
  /** The newest published metadata image (where leaders' endpoints are found). */
  image(): MetadataImage;
  settings: FetcherSettings;
  logger: Logger;
  onFetched?(leaderId: number): void;
  /** follower.replication.throttled.rate, shared by every fetcher of this node (docs/elastic.md). */
  throttle?: FetcherContext["throttle"];
}

export class ReplicaFetcherManager {
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  /** Which fetcher (leader id) each followed replica is with. */
  private readonly leaderOf = new Map<Partition, number>();
  private readonly closing = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: ReplicaFetcherManagerOptions) {}

  /** Fetch `replica` from its current leader (moving it from another fetcher if needed). */
  follow(replica: Partition): void {
    if (this.closed) return;
    const leaderId = replica.leaderId;
    if (leaderId < 0 || leaderId === this.options.nodeId) {
      this.unfollow(replica);
      return;
    }
    const previous = this.leaderOf.get(replica);
    if (previous !== undefined && previous !== leaderId) this.unfollow(replica);
    const fetcher = this.fetcherFor(leaderId);
    if (fetcher.has(replica)) fetcher.poke(replica);
    else fetcher.add(replica);
    this.leaderOf.set(replica, leaderId);
  }

  /** Stop fetching `replica` (it leads now, was removed, or this node is not live). */
  unfollow(replica: Partition): void {
    const leaderId = this.leaderOf.get(replica);
    if (leaderId === undefined) return;
    this.leaderOf.delete(replica);
    const fetcher = this.fetchers.get(leaderId);
    if (!fetcher) return;
    fetcher.remove(replica);
    if (fetcher.partitionCount === 0) {
      this.fetchers.delete(leaderId);
      this.closeInBackground(fetcher);
    }
  }

  /** Fetchers by leader id with their partition counts (tests, diagnostics). */
  describe(): { leaderId: number; partitions: number; fetches: number }[] {
    return [...this.fetchers.values()].map((fetcher) => ({ leaderId: fetcher.leaderId, partitions: fetcher.partitionCount, fetches: fetcher.fetches }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const fetcher of this.fetchers.values()) this.closeInBackground(fetcher);
    this.fetchers.clear();
    this.leaderOf.clear();
    await Promise.all([...this.closing]);
  }

  private fetcherFor(leaderId: number): ReplicaFetcher {
    let fetcher = this.fetchers.get(leaderId);
    if (!fetcher) {
      const { nodeId, settings, logger, onFetched, throttle } = this.options;
      fetcher = new ReplicaFetcher(leaderId, {
        nodeId,
        settings,
        logger,
        onFetched,
        throttle,
        brokerEpoch: this.options.brokerEpoch,
        endpointOf: (id) => replicaFetchEndpoint(this.options.image(), id),
      });
      this.fetchers.set(leaderId, fetcher);
    }
    return fetcher;
  }

  private closeInBackground(fetcher: ReplicaFetcher): void {
    const closing = fetcher.close().catch((error: unknown) => this.options.logger.warn("closing a replica fetcher failed", { leader: fetcher.leaderId, error: String(error) }));
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }
}
