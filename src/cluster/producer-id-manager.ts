// Producer ids for InitProducerId on this broker (Kafka's RPCProducerIdManager): ids come from
// blocks of 1,000 that the controller allocates with a ProducerIdsRecord. A block is committed to
// the metadata log before its first id is handed out, so no id is ever handed out twice — not
// after a crash, not by two brokers. The rest of a block is skipped after a restart.

import { assert } from "../util/assert.ts";

export interface ProducerIdSource {
  /** A committed block of ids for this broker. */
  allocateProducerIds(): Promise<{ firstProducerId: bigint; size: bigint }>;
}

export class ProducerIdManager {
  private next = 0n;
  private end = 0n;
  /** One request at a time: ids are handed out in order, a block fetched only when needed. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly source: ProducerIdSource) {}

  generate(): Promise<bigint> {
    const result = this.chain.then(async () => {
      if (this.next >= this.end) {
        const block = await this.source.allocateProducerIds();
        assert(block.size > 0n && block.firstProducerId >= this.end, "producer id blocks move forward");
        this.next = block.firstProducerId;
        this.end = block.firstProducerId + block.size;
      }
      const id = this.next;
      this.next += 1n;
      return id;
    });
    this.chain = result.catch(() => undefined);
    return result;
  }
}
