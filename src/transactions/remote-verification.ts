// KIP-890 part 1 across nodes: before a partition leader appends a transactional batch whose
// transactional id is coordinated on another node, it asks that coordinator (the leader of the
// id's __transaction_state partition) with AddPartitionsToTxn v4 verifyOnly over the internal
// listener whether the partition is in the producer's ongoing transaction — as Kafka's
// AddPartitionsToTxnManager does. Answers per partition: NONE, INVALID_TXN_STATE,
// INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_ID_MAPPING; a coordinator that cannot answer now (moved,
// loading, unreachable, busy) gives NOT_ENOUGH_REPLICAS, which producers retry, as Kafka maps it.

import type { PeerConnections } from "../client/peer-connections.ts";
import type { MetadataImage } from "../cluster/image.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { AddPartitionsToTxnApi } from "../protocol/generated/add-partitions-to-txn.ts";
import { partitionsByTopic, type TopicPartition } from "./state.ts";
import { TRANSACTION_STATE_TOPIC, type TransactionLog } from "./transaction-log.ts";

const VERIFY_VERSION = 4;
const PURPOSE = "txn-verify";
/** Coordinator answers that only mean "not now": retriable for the producer. */
const notNow = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS]);

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class RemoteVerification {
  constructor(
    private readonly options: {
      nodeId: number;
      peers: PeerConnections | null;
      metadata: () => MetadataImage;
      transactionLog: TransactionLog;
      requestTimeoutMs: number;
    },
  ) {}

  /** "topic\0partition" → error, for the partitions that may not be written (empty when all may). */
  async verify(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: TopicPartition[]): Promise<Map<string, number>> {
    const refused = new Map<string, number>();
    const refuseAll = (errorCode: number) => {
      for (const tp of partitions) refused.set(partitionKey(tp.topic, tp.partition), errorCode);
      return refused;
    };
    const statePartition = this.options.transactionLog.partitionFor(transactionalId);
    const coordinator = statePartition < 0 ? -1 : this.options.metadata().topicsByName.get(TRANSACTION_STATE_TOPIC)?.partitions[statePartition]?.leader ?? -1;
    const peers = this.options.peers;
    if (coordinator < 0 || coordinator === this.options.nodeId || peers === null) return refuseAll(ErrorCode.NOT_ENOUGH_REPLICAS);
    const topics = partitionsByTopic(partitions);
    let response;
    try {
      response = await peers.request(coordinator, PURPOSE, AddPartitionsToTxnApi, {
        transactions: [{ transactionalId, producerId, producerEpoch, verifyOnly: true, topics: [...topics].map(([name, list]) => ({ name, partitions: list })) }],
      }, { version: VERIFY_VERSION, timeoutMs: this.options.requestTimeoutMs });
    } catch {
      return refuseAll(ErrorCode.NOT_ENOUGH_REPLICAS);
    }
    if (response.errorCode !== ErrorCode.NONE) return refuseAll(ErrorCode.NOT_ENOUGH_REPLICAS);
    const answered = new Map<string, number>();
    for (const result of response.resultsByTransaction) {
      for (const topic of result.topicResults) {
        for (const partition of topic.resultsByPartition) answered.set(partitionKey(topic.name, partition.partitionIndex), partition.partitionErrorCode);
      }
    }
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      const errorCode = answered.get(key) ?? ErrorCode.NOT_ENOUGH_REPLICAS;
      if (errorCode !== ErrorCode.NONE) refused.set(key, notNow.has(errorCode) ? ErrorCode.NOT_ENOUGH_REPLICAS : errorCode);
    }
    return refused;
  }
}
