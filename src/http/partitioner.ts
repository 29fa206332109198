// Where a produced record goes when the request names no partition, as Kafka's Java producer
// decides (so that a key lands on the same partition whichever client wrote it):
//   - with a key: murmur2(key) made positive, modulo the partition count (Kafka's
//     BuiltInPartitioner.partitionForKey; librdkafka's "murmur2_random");
//   - without a key: round robin over the partitions, one step per request (a stream keeps one
//     partition per batch: Kafka's sticky partitioning, KIP-480).

// The keyed choice is the Kafka client's own (src/client/partitioner.ts: murmur2), one function for both.
export { partitionForKey } from "../client/partitioner.ts";

/** Round robin per topic for keyless records. Bounded: one counter per topic name asked for. */
export class KeylessPartitioner {
  private readonly next = new Map<string, number>();

  partition(topic: string, partitionCount: number): number {
    const current = this.next.get(topic) ?? Math.floor(Math.random() * partitionCount);
    this.next.set(topic, (current + 1) % 1_000_000);
    return current % partitionCount;
  }

  forget(topic: string): void {
    this.next.delete(topic);
  }
}
