// Before a group request reaches the coordinator: does this node coordinate the group now? The
// coordinator of a group is the leader of its __consumer_offsets partition (docs/replication.md
// §6): NONE when that is this node and the partition is loaded; NOT_COORDINATOR elsewhere (the
// client asks FindCoordinator again); COORDINATOR_LOAD_IN_PROGRESS while it loads;
// COORDINATOR_NOT_AVAILABLE when the coordinator is not running or the topic does not exist yet.

import { ErrorCode } from "../protocol/errors.ts";
import type { BrokerContext } from "./context.ts";

export function coordinatorError(broker: BrokerContext, groupId: string): number {
  return broker.groups ? broker.groups.coordinatorError(groupId) : ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

/**
 * The same for a transactional id (the leader of its __transaction_state partition coordinates
 * it). A missing __transaction_state is created here (first use, as Kafka does) and answered
 * COORDINATOR_NOT_AVAILABLE meanwhile: clients retry.
 */
export function transactionCoordinatorError(broker: BrokerContext, transactionalId: string): number {
  const transactions = broker.transactions;
  if (!transactions) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  const error = transactions.coordinatorError(transactionalId);
  if (error === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
    transactions.ensureTopic().catch((cause: unknown) => broker.log.warn("creating __transaction_state failed", { error: String(cause) }));
  }
  return error;
}
