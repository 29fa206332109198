// Errors of the Kafka client, and which of them are worth a retry.
//
// A broker's answer that carries an error code becomes a KafkaError (src/protocol/errors.ts) with
// that code; a dead or stuck connection becomes a ConnectionError. Retriable means what Kafka's Java
// client means by RetriableException: the same request may succeed later, often after refreshing
// metadata (a leader moved) or finding the coordinator again (a group moved).

import { ErrorCode, KafkaError, errorName } from "../protocol/errors.ts";

/** The connection failed, closed, or a request on it timed out: retriable on a new connection. */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}

/**
 * No response within the request's timeout (the connection is then closed: answers come in order),
 * or no connection within the connect timeout.
 */
export class RequestTimeoutError extends ConnectionError {
  constructor(message: string) {
    super(message);
    this.name = "RequestTimeoutError";
  }
}

/** The client gave up: an operation's deadline passed while it kept failing with retriable errors. */
export class DeadlineError extends Error {
  constructor(message: string, readonly lastError: unknown) {
    super(`${message}${lastError ? `: ${lastError instanceof Error ? lastError.message : String(lastError)}` : ""}`);
    this.name = "DeadlineError";
  }
}

/** Codes after which the leader (or topic) view is stale: refresh metadata, then retry. */
const metadataCodes: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_ID,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.NEW_LEADER_ELECTED,
]);

/** Codes after which the group (or transaction) coordinator must be looked up again. */
const coordinatorCodes: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
]);

/** Codes that mean "try again later" without anything to refresh. */
const transientCodes: ReadonlySet<number> = new Set([
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.OFFSET_NOT_AVAILABLE,
  ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  ErrorCode.UNSTABLE_OFFSET_COMMIT,
  ErrorCode.THROTTLING_QUOTA_EXCEEDED,
  ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE,
]);

export function needsMetadataRefresh(code: number): boolean {
  return metadataCodes.has(code);
}

export function needsCoordinatorRefresh(code: number): boolean {
  return coordinatorCodes.has(code);
}

export function isRetriableCode(code: number): boolean {
  return metadataCodes.has(code) || coordinatorCodes.has(code) || transientCodes.has(code);
}

/** True for errors a retry may cure: retriable Kafka codes and connection failures. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  return error instanceof KafkaError && isRetriableCode(error.code);
}

/** A KafkaError for a non-zero code in a response, naming what it was about. */
export function responseError(code: number, what: string, message?: string | null): KafkaError {
  return new KafkaError(code, message ? `${what}: ${message}` : what);
}

/** Throws responseError unless `code` is NONE. */
export function checkCode(code: number, what: string, message?: string | null): void {
  if (code !== ErrorCode.NONE) throw responseError(code, what, message);
}

export { ErrorCode, KafkaError, errorName };
