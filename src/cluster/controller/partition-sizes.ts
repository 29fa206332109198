// Partition sizes for the balancer (docs/elastic.md §3): the active controller asks every live
// broker DescribeLogDirs (over the internal listener; itself locally) and takes, per partition,
// its largest replica — the leader's log, which followers and moved replicas catch up to. A broker
// that does not answer in time is skipped (its partitions' other replicas still report them); no
// answer at all gives null, and the balancer then balances by replica count only.

export interface ReplicaSize {
  readonly topic: string;
  readonly partition: number;
  readonly bytes: bigint;
}

export type AskLogDirs = (brokerId: number) => Promise<readonly ReplicaSize[]>;

/** Sizes by `topic-partition`, in bytes (as numbers: a partition's size fits well below 2^53). */
export async function gatherPartitionSizes(brokers: readonly number[], ask: AskLogDirs, timeoutMs: number): Promise<Map<string, number> | null> {
  const answers = await Promise.all(brokers.map((id) => withTimeout(ask(id), timeoutMs).catch(() => null)));
  if (answers.every((answer) => answer === null)) return null;
  const sizes = new Map<string, number>();
  for (const answer of answers) {
    for (const replica of answer ?? []) {
      const key = `${replica.topic}-${replica.partition}`;
      sizes.set(key, Math.max(sizes.get(key) ?? 0, Number(replica.bytes)));
    }
  }
  return sizes;
}

/**
 * The bytes gap between two brokers the balancer tolerates: a tenth of the mean bytes per broker
 * (`totalReplicaBytes`: every replica counted), and at least `floorBytes` (moving replicas for a
 * few megabytes costs more than it evens out).
 */
export function bytesTolerance(totalReplicaBytes: number, brokerCount: number, floorBytes: number): number {
  return Math.max(floorBytes, totalReplicaBytes / Math.max(1, brokerCount) / 10);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error("timed out")), timeoutMs); })])
    .finally(() => clearTimeout(timer));
}
