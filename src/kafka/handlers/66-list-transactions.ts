// ListTransactions (key 66), v0-v1: the transactional ids this node coordinates, filtered by state
// names (unknown names are returned in unknownStateFilters), producer ids and (v1) a minimum
// running time of the ongoing transaction (durationFilter ms; -1 none). COORDINATOR_LOAD_IN_PROGRESS
// is not reported: ids of partitions still loading are simply not listed yet. ACLs, as Kafka: only
// the ids the principal may DESCRIBE are listed.

import { ErrorCode } from "../../protocol/errors.ts";
import { ListTransactionsApi } from "../../protocol/generated/list-transactions.ts";
import { TRANSACTION_STATE_NAMES, TransactionState } from "../../transactions/index.ts";
import { defineHandler } from "../handler.ts";
import { AclOperation } from "../../security/acl.ts";
import { authorizeTransactionalId } from "../security.ts";

const KNOWN_STATES = new Set(Object.values(TRANSACTION_STATE_NAMES));

export default defineHandler({
  api: ListTransactionsApi,
  minVersion: 0,
  maxVersion: ListTransactionsApi.maxVersion,
  handle(request, ctx) {
    const transactions = ctx.broker.transactions;
    if (!transactions) return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, unknownStateFilters: [], transactionStates: [] };
    const states = new Set(request.stateFilters);
    const producerIds = new Set(request.producerIdFilters);
    const minimumDurationMs = ctx.version >= 1 ? Number(request.durationFilter) : -1;
    const now = ctx.broker.clock.nowMs();
    const listed = transactions.coordinator.list().filter((metadata) => {
      if (!authorizeTransactionalId(ctx, AclOperation.DESCRIBE, metadata.transactionalId)) return false;
      if (states.size > 0 && !states.has(TRANSACTION_STATE_NAMES[metadata.state])) return false;
      if (producerIds.size > 0 && !producerIds.has(metadata.producerId)) return false;
      if (minimumDurationMs >= 0 && (metadata.state !== TransactionState.Ongoing || now - metadata.startTimestampMs < minimumDurationMs)) return false;
      return true;
    });
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters: request.stateFilters.filter((state) => !KNOWN_STATES.has(state)),
      transactionStates: listed.map((metadata) => ({
        transactionalId: metadata.transactionalId,
        producerId: metadata.producerId,
        transactionState: TRANSACTION_STATE_NAMES[metadata.state],
      })),
    };
  },
});
