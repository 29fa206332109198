// WriteTxnMarkers (key 27), v0-v1, internal (CONTROLLER) listener only: a transaction coordinator
// on another node asking this node to append COMMIT / ABORT markers to the partitions it leads
// (transactions/markers.ts's LocalMarkers: acks=all, and a marker on a __consumer_offsets partition
// ends the transaction's pending offsets of its groups). Answered once every marker is written or
// has failed, per partition: NOT_LEADER_OR_FOLLOWER (leadership moved: the coordinator looks the
// leader up again and retries), UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT,
// INVALID_PRODUCER_EPOCH (the partition holds a newer epoch of the producer).
// Callers must be nodes (CLUSTER_ACTION; controller-handlers.ts answers anyone else
// CLUSTER_AUTHORIZATION_FAILED per partition). Not done: a marker's coordinator epoch is written into the marker but not compared
// with the partition's last one (TRANSACTION_COORDINATOR_FENCED is never answered).

import { ErrorCode, errorCodeOf } from "../../protocol/errors.ts";
import { WriteTxnMarkersApi } from "../../protocol/generated/write-txn-markers.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: WriteTxnMarkersApi,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const transactions = ctx.broker.transactions;
    const markers = await Promise.all(request.markers.map(async (marker) => {
      const written = { producerId: marker.producerId, producerEpoch: marker.producerEpoch, committed: marker.transactionResult, coordinatorEpoch: marker.coordinatorEpoch };
      const topics = await Promise.all(marker.topics.map(async (topic) => ({
        name: topic.name,
        partitions: await Promise.all(topic.partitionIndexes.map(async (partitionIndex) => {
          if (!transactions) return { partitionIndex, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
          try {
            await transactions.localMarkers.write(written, { topic: topic.name, partition: partitionIndex });
            return { partitionIndex, errorCode: ErrorCode.NONE };
          } catch (error) {
            return { partitionIndex, errorCode: errorCodeOf(error) };
          }
        })),
      })));
      return { producerId: marker.producerId, topics };
    }));
    return { markers };
  },
});
