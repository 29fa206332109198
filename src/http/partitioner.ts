// Where a produced record goes when the request names no partition, as Kafka's Java producer
// decides (so that a key lands on the same partition whichever client wrote it):
//   - with a key: murmur2(key) made positive, modulo the partition count (Kafka's
//     BuiltInPartitioner.partitionForKey; librdkafka's "murmur2_random");
//   - without a key: round robin over the partitions, one step per request (a stream keeps one
//     partition per batch: Kafka's sticky partitioning, KIP-480).

/** Kafka's murmur2 (Utils.murmur2): 32-bit, seed 0x9747b28c, little-endian 4-byte blocks. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let hash = 0x9747b28c ^ length;
  const blocks = length >>> 2;
  for (let block = 0; block < blocks; block++) {
    const at = block * 4;
    let k = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    hash = Math.imul(hash, m) ^ k;
  }
  const tail = blocks * 4;
  // The tail bytes, highest first, as Kafka's switch with fall-through does.
  const remainder = length & 3;
  if (remainder >= 3) hash ^= data[tail + 2]! << 16;
  if (remainder >= 2) hash ^= data[tail + 1]! << 8;
  if (remainder >= 1) {
    hash ^= data[tail]!;
    hash = Math.imul(hash, m);
  }
  hash ^= hash >>> 13;
  hash = Math.imul(hash, m);
  hash ^= hash >>> 15;
  return hash | 0;
}

export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}

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
