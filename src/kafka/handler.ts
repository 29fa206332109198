// How a Kafka API is served: one handler per API key, one file per handler.
//
// ADDING A HANDLER
//   1. Create `src/kafka/handlers/NN-kebab-name.ts` (NN = the API key, two digits), opening with a
//      short comment: the versions served, how it behaves, what it deliberately does not do.
//   2. Default-export `defineHandler({ api: XApi, minVersion, maxVersion, handle(request, ctx) })`
//      where `XApi` comes from `src/protocol/generated/`. Advertise the FULL range the codec knows
//      unless a version truly cannot be served (older clients switch features off when a minimum
//      is raised — see ../shared/kafka-protocol/README.md).
//   3. Add one import line and one array entry in `src/kafka/handlers/index.ts`.
// The ApiVersions table is assembled from the registered handlers; nothing else to declare.
//
// THE CONTRACT
//   - `handle` receives the decoded request body and a RequestContext (version, header, the broker
//     context with config, logs, cluster metadata, groups…) and returns the response object (plain
//     object; missing fields are written as the descriptor's defaults) — or `null` to send no
//     response at all (Produce with acks=0). It may be async; responses are still written in
//     request order on the connection.
//   - Keep handlers thin: decode → validate → delegate to the subsystem → build the response.
//     Answer operating errors (unknown topic, bad config…) with Kafka error codes in the response.
//     A handler that throws gets its connection closed (logged): that is for programmer errors and
//     for requests that cannot be answered meaningfully; `throw new CloseConnection(reason)` closes
//     it on purpose (acks=0 Produce failures).
//   - Zero-copy: a handler that puts storage views (ReadResult.chunks) into its response calls
//     `ctx.onDone(read.release)`; the connection calls it once the bytes are written or dropped.
//   - Long waits (Fetch long poll) use `ctx.signal`, aborted when the connection closes or the
//     broker shuts down.
//   - Tests can observe, delay or fail any request with `broker.interceptRequest` (context.ts).

import type { Api } from "../protocol/api.ts";
import type { Init } from "../protocol/primitives.ts";
import { assert } from "../util/assert.ts";
import type { BrokerContext } from "./context.ts";
import type { Session } from "./session.ts";

export interface RequestHeaderInfo {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** What a handler knows about the request it serves. */
export interface RequestContext {
  /** The request's API version (already checked against the handler's range). */
  readonly version: number;
  readonly header: RequestHeaderInfo;
  readonly broker: BrokerContext;
  /** Aborted when the connection closes or the broker shuts down. */
  readonly signal: AbortSignal;
  /** Connection id (for logs) and the client's address. */
  readonly connectionId: number;
  readonly remoteAddress: string;
  /** The connection's listener, principal and SASL state. */
  readonly session: Session;
  /** Run `fn` once this request's response has been written to the socket, or dropped. */
  onDone(fn: () => void): void;
}

export type HandlerResult<Response> = Init<Response> | null;

/**
 * Thrown (or rejected) by a handler to close its connection without answering, as Kafka does when
 * a Produce with acks=0 fails (the client learns of it only through the closed connection).
 * Logged at info, unlike other failures.
 */
export class CloseConnection extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "CloseConnection";
  }
}

export interface HandlerDefinition<Request, Response> {
  readonly api: Api<Request, Response>;
  /** Versions served; within the codec's range. */
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(request: Request, ctx: RequestContext): HandlerResult<Response> | Promise<HandlerResult<Response>>;
}

// biome-ignore lint: the registry holds handlers of every API.
export type AnyHandler = HandlerDefinition<any, any>;

export function defineHandler<Request, Response>(
  definition: HandlerDefinition<Request, Response>,
): HandlerDefinition<Request, Response> {
  const { api, minVersion, maxVersion } = definition;
  assert(Number.isInteger(minVersion) && Number.isInteger(maxVersion), `${api.name}: integer versions`);
  assert(minVersion <= maxVersion, `${api.name}: minVersion ${minVersion} > maxVersion ${maxVersion}`);
  assert(minVersion >= api.minVersion && maxVersion <= api.maxVersion,
    `${api.name}: versions ${minVersion}-${maxVersion} outside the codec's ${api.minVersion}-${api.maxVersion}`);
  return definition;
}
