// How a route is declared: one RouteSpec (method, path in OpenAPI's {param} form, summary, media
// types) and one handler. The same list registers the Hono routes, tells a wrong method (405 with
// Allow) from an unknown path (404), labels the per-route metrics with the route's pattern (never
// the raw path: bounded series), and is the source of the OpenAPI description (openapi.ts).
//
// Every handler runs inside one wrapper: a thrown HttpError or KafkaError becomes a REST
// Proxy-style error body in the format the client accepts (JSON, or CBOR when it asked for CBOR),
// and anything else a 500 whose details are logged, never sent.

import type { Context, Hono } from "hono";
import type { BrokerConfig } from "../config/index.ts";
import type { Logger } from "../util/logger.ts";
import type { BrokerMetrics } from "../util/metrics.ts";
import type { HttpBackend } from "./backend.ts";
import type { ConsumerInstances } from "./consumer-instances.ts";
import { drainBody, encodeDocument, type ResponseFormat } from "./encoding.ts";
import { HttpError, toHttpError } from "./errors.ts";
import type { KeylessPartitioner } from "./partitioner.ts";
import type { ProduceCoalescer } from "./produce-coalescer.ts";
import type { LiveStreams } from "./live-stream.ts";
import type { HttpAuth } from "./auth.ts";

export type Method = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

export interface RouteParameter {
  name: string;
  in: "path" | "query";
  description: string;
  type?: "string" | "integer" | "boolean";
}

export interface RouteSpec {
  method: Method;
  /** OpenAPI form: /v3/clusters/{cluster_id}/topics/{topic_name}; a literal colon is kept (configs:alter). */
  path: string;
  summary: string;
  tag: string;
  /** Request media types (none: no body). */
  requestTypes?: readonly string[];
  /** Response media types, preferred first. */
  responseTypes?: readonly string[];
  /** Query parameters (path parameters are read from the path). */
  query?: readonly RouteParameter[];
  /** Success status (default 200). */
  status?: number;
  /** Not part of the API's description (the web console's own assets): left out of /openapi.json. */
  hidden?: boolean;
}

/** What every route may use. The backend is the only way to the broker. */
export interface HttpDeps {
  readonly backend: HttpBackend;
  readonly config: BrokerConfig;
  readonly metrics: BrokerMetrics;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly consumers: ConsumerInstances;
  readonly streams: LiveStreams;
  readonly keyless: KeylessPartitioner;
  /** One-record produce requests for one partition, batched into one append. */
  readonly coalescer: ProduceCoalescer;
  readonly log: Logger;
  /** Aborted when the server shuts down: long polls and streams end. */
  readonly shutdownSignal: AbortSignal;
  /** Authentication and ACLs (auth.ts); absent: every request is served. */
  readonly auth?: HttpAuth;
}

export type RouteHandler = (c: Context) => Response | Promise<Response>;

/** The format an error is answered in: CBOR when the client accepts CBOR and not JSON first. */
function errorFormat(c: Context): ResponseFormat {
  const accept = c.req.header("accept") ?? "";
  const cbor = accept.indexOf("application/cbor");
  const json = accept.indexOf("json");
  return cbor >= 0 && (json < 0 || cbor < json) ? "cbor" : "json";
}

export function errorResponse(c: Context, error: HttpError): Response {
  const { body, contentType } = encodeDocument(error.body(), errorFormat(c));
  return new Response(body, { status: error.status, headers: { "content-type": contentType, ...error.headers } });
}

/**
 * Hono's path syntax for an OpenAPI path: {x} → :x. A segment with a literal colon
 * (configs:alter) is kept: Hono reads it as "configs" followed by a parameter, so the handler
 * checks the segment itself (`literals`: segment index and text). A regex parameter would avoid
 * the check, but it pushes Hono off its fast RegExpRouter onto the TrieRouter.
 */
function honoPath(path: string): { path: string; literals: [number, string][] } {
  const literals: [number, string][] = [];
  const converted = path
    .split("/")
    .map((segment, index) => {
      if (/^\{[a-z_]+\}$/.test(segment)) return `:${segment.slice(1, -1)}`;
      if (segment.includes(":")) literals.push([index, segment]);
      // REST Proxy's "-" (any broker) sits where other routes have {broker_id}: a static segment
      // beside a parameter is what Hono's RegExpRouter cannot take (it falls back to the slower
      // TrieRouter for every route), so it is a parameter here, checked as a literal.
      if (segment === "-") {
        literals.push([index, segment]);
        return `:any${index}`;
      }
      return segment;
    })
    .join("/");
  return { path: converted, literals };
}

function pathPattern(path: string): RegExp {
  const source = path
    .split("/")
    .map((segment) => (/^\{[a-z_]+\}$/.test(segment) ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`);
}

export class Router {
  readonly specs: RouteSpec[] = [];
  /** Requests being answered now (long polls included; a stream counts until its head is sent). */
  inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  /** Resolves once no request is being answered (shutdown lets aborted long polls answer first). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private finished(): void {
    this.inFlight--;
    if (this.inFlight > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
  private readonly patterns: { spec: RouteSpec; pattern: RegExp }[] = [];

  constructor(
    private readonly app: Hono,
    private readonly deps: HttpDeps,
  ) {}

  add(spec: RouteSpec, handler: RouteHandler): void {
    this.specs.push(spec);
    this.patterns.push({ spec, pattern: pathPattern(spec.path) });
    // Metric series of this route, looked up once per status instead of once per request.
    const latency = this.deps.metrics.httpRequestSeconds.child({ route: spec.path, method: spec.method });
    const counts = new Map<number, { inc(amount?: number): void }>();
    const observe = (status: number, started: number) => {
      let count = counts.get(status);
      if (!count) {
        count = this.deps.metrics.httpRequests.child({ route: spec.path, method: spec.method, status: String(status) });
        counts.set(status, count);
      }
      count.inc();
      latency.observe((performance.now() - started) / 1000);
    };
    const wrapped = async (c: Context): Promise<Response> => {
      const started = performance.now();
      let response: Response;
      this.inFlight++;
      try {
        const refusal = this.deps.auth?.active ? await this.deps.auth.check(c, spec) : null;
        if (refusal !== null) throw refusal;
        response = await handler(c);
      } catch (error) {
        const httpError = toHttpError(error);
        if (httpError.status >= 500) this.deps.log.error("http request failed", { route: spec.path, method: spec.method, error: String((error as Error)?.stack ?? error) });
        await drainBody(c.req.raw);
        response = errorResponse(c, httpError);
      } finally {
        this.finished();
      }
      observe(response.status, started);
      return response;
    };
    const { path, literals } = honoPath(spec.path);
    if (literals.length === 0) {
      this.app.on(spec.method, path, wrapped);
      return;
    }
    // Not this route unless the literal segments match: on to the next route of the same shape.
    this.app.on(spec.method, path, (c, next) => {
      const segments = c.req.path.split("/");
      return literals.every(([index, text]) => segments[index] === text) ? wrapped(c) : next();
    });
  }

  observe(route: string, method: string, status: number, startedMs: number): void {
    this.deps.metrics.httpRequests.inc({ route, method, status: String(status) });
    this.deps.metrics.httpRequestSeconds.observe({ route, method }, (performance.now() - startedMs) / 1000);
  }

  /** The answer for a request no route took: 405 with Allow when the path exists with other methods, else 404. */
  async unmatched(c: Context): Promise<Response> {
    const started = performance.now();
    await drainBody(c.req.raw);
    const path = c.req.path;
    const allowed = this.patterns.filter((entry) => entry.pattern.test(path)).map((entry) => entry.spec.method);
    let response: Response;
    if (allowed.length > 0) {
      const allow = [...new Set(allowed)].join(", ");
      response = errorResponse(c, new HttpError(405, 405, `Method ${c.req.method} not allowed on ${path}; allowed: ${allow}.`, { allow }));
    } else {
      response = errorResponse(c, new HttpError(404, 404, `No route for ${c.req.method} ${path}.`));
    }
    this.observe("unmatched", c.req.method, response.status, started);
    return response;
  }
}

// One Headers instance for every plain JSON answer: Response copies it (cheaper than filling a new
// Headers from an object each time; nothing mutates this one).
const jsonOk = { status: 200, headers: new Headers({ "content-type": "application/json" }) };

/** A 200 answer whose JSON text is already made. */
export function jsonResponse(text: string): Response {
  return new Response(text, jsonOk);
}

/** A JSON or CBOR response of one document. */
export function documentResponse(value: unknown, format: ResponseFormat, status = 200, headers?: Record<string, string>): Response {
  const { body, contentType } = encodeDocument(value, format);
  // The common answer reuses one init object (no per-request header object to build).
  if (status === 200 && headers === undefined && format === "json") return new Response(body, jsonOk);
  return new Response(body, { status, headers: { "content-type": contentType, ...headers } });
}
