// DescribeTransactions (key 65), v0: the coordinator's state of each transactional id asked for —
// state name (Kafka's: Empty, Ongoing, PrepareCommit, …), timeout, start time, producer id and
// epoch, and the partitions of the ongoing transaction. An id this node does not coordinate:
// NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE; an unknown one:
// TRANSACTIONAL_ID_NOT_FOUND. ACLs, as Kafka: DESCRIBE on each id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
// the partitions of topics the principal may not DESCRIBE are left out.

import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeTransactionsApi } from "../../protocol/generated/describe-transactions.ts";
import { TRANSACTION_STATE_NAMES } from "../../transactions/index.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTopic, authorizeTransactionalId } from "../security.ts";

export default defineHandler({
  api: DescribeTransactionsApi,
  minVersion: 0,
  maxVersion: DescribeTransactionsApi.maxVersion,
  handle(request, ctx) {
    const transactions = ctx.broker.transactions;
    const none = { transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1n, producerId: -1n, producerEpoch: -1, topics: [] };
    return {
      throttleTimeMs: 0,
      transactionStates: request.transactionalIds.map((transactionalId) => {
        if (!authorizeTransactionalId(ctx, AclOperation.DESCRIBE, transactionalId)) return { errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactionalId, ...none };
        const notHere = transactions ? transactions.coordinatorError(transactionalId) : ErrorCode.COORDINATOR_NOT_AVAILABLE;
        if (notHere !== ErrorCode.NONE) return { errorCode: notHere, transactionalId, ...none };
        const metadata = transactions!.coordinator.describe(transactionalId);
        if (!metadata) return { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId, ...none };
        return {
          errorCode: ErrorCode.NONE,
          transactionalId,
          transactionState: TRANSACTION_STATE_NAMES[metadata.state],
          transactionTimeoutMs: metadata.timeoutMs,
          transactionStartTimeMs: BigInt(metadata.startTimestampMs),
          producerId: metadata.producerId,
          producerEpoch: metadata.producerEpoch,
          topics: [...metadata.partitions].filter(([topic]) => authorizeTopic(ctx, AclOperation.DESCRIBE, topic)).map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((left, right) => left - right) })),
        };
      }),
    };
  },
});
