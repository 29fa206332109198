// Which partition a record goes to, as Kafka's Java client (and kafkajs's default) decides, so that
// records with the same key land in the same partition whichever of these clients wrote them:
// murmur2 of the key bytes, made non-negative, modulo the partition count. Records without a key
// stick to one partition until its batch is sent (Kafka's sticky partitioner, KIP-480), which
// keeps batches full instead of spreading single records over every partition.

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let index = 0; index < whole; index += 4) {
    let k = data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The tail bytes, as Kafka's switch with fall-through does.
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition of a keyed record among `partitions`. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** Sticky choice for records without a key: one partition per topic until told to move on. */
export class StickyPartitioner {
  private readonly current = new Map<string, number>();

  partition(topic: string, partitions: number): number {
    let chosen = this.current.get(topic);
    if (chosen === undefined || chosen >= partitions) {
      chosen = Math.floor(Math.random() * partitions);
      this.current.set(topic, chosen);
    }
    return chosen;
  }

  /** Called when the sticky partition's batch was closed: the next keyless record picks anew. */
  batchClosed(topic: string, partition: number, partitions: number): void {
    if (this.current.get(topic) !== partition || partitions <= 1) return;
    let next = Math.floor(Math.random() * (partitions - 1));
    if (next >= partition) next++;
    this.current.set(topic, next);
  }
}
