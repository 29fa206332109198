// Errors of the HTTP API in Confluent REST Proxy's shape: an HTTP status and a body
// `{"error_code": N, "message": "…"}`. error_code is REST Proxy's five-digit code where it has
// one (40401 topic not found, 40402 partition not found, 40403 consumer instance not found, 40901
// consumer instance exists, 42201/42202 invalid key/value), else the HTTP status itself, as REST
// Proxy v3 answers. Kafka errors from the backend are mapped here, in one place, with the Kafka
// error name kept in the message so that an operator can look it up.

import { ErrorCode, errorName, KafkaError } from "../protocol/errors.ts";

export const RestErrorCode = {
  TOPIC_NOT_FOUND: 40401,
  PARTITION_NOT_FOUND: 40402,
  CONSUMER_INSTANCE_NOT_FOUND: 40403,
  CONSUMER_INSTANCE_EXISTS: 40901,
  INVALID_KEY: 42201,
  INVALID_VALUE: 42202,
  INVALID_CONSUMER_CONFIG: 42204,
} as const;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
    /** Extra response headers (Allow for 405). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }

  body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, 400, message);
}

export function unprocessable(message: string, errorCode = 422): HttpError {
  return new HttpError(422, errorCode, message);
}

export function topicNotFound(topic: string): HttpError {
  return new HttpError(404, RestErrorCode.TOPIC_NOT_FOUND, `Topic '${topic}' not found.`);
}

export function partitionNotFound(topic: string, partition: number): HttpError {
  return new HttpError(404, RestErrorCode.PARTITION_NOT_FOUND, `Partition ${partition} of topic '${topic}' not found.`);
}

/** HTTP status for a Kafka error code answered by the backend. */
function statusOf(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.UNKNOWN_TOPIC_ID:
    case ErrorCode.GROUP_ID_NOT_FOUND:
      return 404;
    case ErrorCode.OFFSET_OUT_OF_RANGE:
      return 416;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return 413;
    case ErrorCode.INVALID_RECORD:
    case ErrorCode.INVALID_TIMESTAMP:
    case ErrorCode.CORRUPT_MESSAGE:
    case ErrorCode.UNSUPPORTED_COMPRESSION_TYPE:
      return 422;
    case ErrorCode.VOTER_NOT_FOUND:
      return 404;
    case ErrorCode.DUPLICATE_VOTER:
      return 409;
    case ErrorCode.TOPIC_DELETION_DISABLED:
    case ErrorCode.CLUSTER_AUTHORIZATION_FAILED:
    case ErrorCode.TOPIC_AUTHORIZATION_FAILED:
    case ErrorCode.GROUP_AUTHORIZATION_FAILED:
      return 403;
    case ErrorCode.UNKNOWN_MEMBER_ID:
    case ErrorCode.ILLEGAL_GENERATION:
    case ErrorCode.REBALANCE_IN_PROGRESS:
    case ErrorCode.NON_EMPTY_GROUP:
    case ErrorCode.INCONSISTENT_GROUP_PROTOCOL:
    case ErrorCode.FENCED_INSTANCE_ID:
      return 409;
    // NOT_COORDINATOR reaches a client only when the coordinator kept moving past the forwarding's
    // retries (cluster-backend.ts): retriable, as the others.
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.LEADER_NOT_AVAILABLE:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return 503;
    case ErrorCode.KAFKA_STORAGE_ERROR:
    case ErrorCode.UNKNOWN_SERVER_ERROR:
      return 500;
    default:
      return 400;
  }
}

/**
 * Any thrown value as an HttpError. KafkaErrors keep their message (which starts with the Kafka
 * error name); anything else is a 500 whose message says only that it is ours (details are logged,
 * never sent: production mode).
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof KafkaError) {
    const status = statusOf(error.code);
    let errorCode = status;
    if (error.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      errorCode = /has no partition/.test(error.message) ? RestErrorCode.PARTITION_NOT_FOUND : RestErrorCode.TOPIC_NOT_FOUND;
    }
    return new HttpError(status, errorCode, error.message || errorName(error.code));
  }
  return new HttpError(500, 500, "Internal server error (logged by the broker).");
}
