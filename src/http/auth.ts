// Who may call the HTTP API: the same principals and ACLs as the Kafka listeners.
//
// Authentication (http.authentication.methods):
//   - basic: `Authorization: Basic base64(user:password)`, checked against the user's SCRAM
//     credentials (the users of `runnel users` / AlterUserScramCredentials) → User:<user>. A
//     verified password is remembered for a minute (by its SHA-256, never in clear) so that a
//     client sending it with every request does not pay PBKDF2 every time;
//   - bearer: `Authorization: Bearer <token>`, looked up in http.bearer.tokens.location (lines
//     "TOKEN PRINCIPAL", or "sha256:HEX PRINCIPAL" to keep only the token's hash on disk).
// No method configured: every caller is User:ANONYMOUS (still subject to the ACLs when the
// authorizer is on, so the HTTP port is never a way around them). http.authentication.open.paths
// (by default /healthz, /readyz, /health, /metrics) are served to anyone.
//
// Authorization: each route maps to the Kafka operation Kafka would check for the same work
// (produce → WRITE on the topic, read/stream → READ, configs → DESCRIBE_CONFIGS/ALTER_CONFIGS,
// delete → DELETE, HTTP consumer instances → READ on the group, cluster and listing routes →
// DESCRIBE on the cluster, anything else that changes state → ALTER on the cluster).
// 401 with WWW-Authenticate when the credentials are missing or wrong, 403 when the ACLs refuse.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Context } from "hono";
import { AclOperation as Op, clusterResourceName, ResourceType } from "../security/acl.ts";
import type { Authorizer } from "../security/authorizer.ts";
import { passwordMatches } from "../security/scram.ts";
import type { UserCredentials } from "../security/sasl.ts";
import { HttpError } from "./errors.ts";
import type { RouteSpec } from "./routing.ts";

export interface HttpAuthOptions {
  methods: readonly string[];
  openPaths: readonly string[];
  authorizer: Authorizer;
  credentials: UserCredentials;
  /** http.bearer.tokens.location (null: none). */
  bearerTokensPath: string | null;
  onFailure?: () => void;
}

interface Permission {
  operation: number;
  resourceType: number;
  /** The path parameter naming the resource (absent: the cluster). */
  parameter?: string;
}

/** First match wins: [method or "*", pattern over the route's declared path, permission]. */
const rules: [string, RegExp, Permission][] = [
  ["POST", /\/topics\/\{topic_name\}(\/partitions\/\{partition_id\})?\/records$/, { operation: Op.WRITE, resourceType: ResourceType.TOPIC, parameter: "topic_name" }],
  ["GET", /\/topics\/\{topic_name\}(\/partitions\/\{partition_id\})?\/(records|stream)$/, { operation: Op.READ, resourceType: ResourceType.TOPIC, parameter: "topic_name" }],
  ["GET", /\/topics\/\{topic_name\}\/configs/, { operation: Op.DESCRIBE_CONFIGS, resourceType: ResourceType.TOPIC, parameter: "topic_name" }],
  ["*", /\/topics\/\{topic_name\}\/configs/, { operation: Op.ALTER_CONFIGS, resourceType: ResourceType.TOPIC, parameter: "topic_name" }],
  ["DELETE", /\/topics\/\{topic_name\}$/, { operation: Op.DELETE, resourceType: ResourceType.TOPIC, parameter: "topic_name" }],
  ["GET", /\/topics\/\{topic_name\}/, { operation: Op.DESCRIBE, resourceType: ResourceType.TOPIC, parameter: "topic_name" }],
  ["POST", /\/topics$/, { operation: Op.CREATE, resourceType: ResourceType.CLUSTER }],
  ["GET", /\/consumer-groups\/\{consumer_group_id\}/, { operation: Op.DESCRIBE, resourceType: ResourceType.GROUP, parameter: "consumer_group_id" }],
  ["DELETE", /\/consumer-groups\/\{consumer_group_id\}/, { operation: Op.DELETE, resourceType: ResourceType.GROUP, parameter: "consumer_group_id" }],
  ["*", /^\/consumers\/\{group_name\}/, { operation: Op.READ, resourceType: ResourceType.GROUP, parameter: "group_name" }],
  ["GET", /\/brokers\/\{broker_id\}\/configs$/, { operation: Op.DESCRIBE_CONFIGS, resourceType: ResourceType.CLUSTER }],
  ["GET", /^\/v3\//, { operation: Op.DESCRIBE, resourceType: ResourceType.CLUSTER }],
  ["GET", /^\/openapi\.json$/, { operation: -1, resourceType: ResourceType.CLUSTER }],
  ["*", /./, { operation: Op.ALTER, resourceType: ResourceType.CLUSTER }],
];

function permissionOf(spec: Pick<RouteSpec, "method" | "path">): Permission {
  for (const [method, pattern, permission] of rules) {
    if ((method === "*" || method === spec.method) && pattern.test(spec.path)) return permission;
  }
  throw new Error(`no permission rule for ${spec.method} ${spec.path}`);
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");
const rememberMs = 60_000;
const rememberedMax = 1000;

export class HttpAuth {
  private readonly open: Set<string>;
  private readonly tokens = new Map<string, string>();
  /** "user\0sha256(password)" → expiry (ms): a verified Basic password. */
  private readonly remembered = new Map<string, number>();

  constructor(private readonly options: HttpAuthOptions) {
    this.open = new Set(options.openPaths);
    if (options.methods.includes("bearer")) this.loadTokens();
  }

  private loadTokens(): void {
    const path = this.options.bearerTokensPath;
    if (path === null) throw new Error("http.authentication.methods has bearer: set http.bearer.tokens.location");
    for (const [index, raw] of readFileSync(path, "utf8").split(/\r?\n/).entries()) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const [token, principal, ...rest] = line.split(/\s+/);
      if (!token || !principal || rest.length > 0 || !principal.includes(":")) throw new Error(`${path}:${index + 1}: expected "TOKEN PRINCIPAL" (User:alice)`);
      this.tokens.set(token.startsWith("sha256:") ? token.slice(7).toLowerCase() : sha256Hex(token), principal);
    }
  }

  /** False when nothing is checked (no authentication method, no authorizer): requests skip check(). */
  get active(): boolean {
    return this.options.methods.length > 0 || this.options.authorizer.enabled;
  }

  /** Null when the request may go on; otherwise the 401/403 answer's error. */
  async check(c: Context, spec: RouteSpec): Promise<HttpError | null> {
    if (this.open.has(spec.path)) return null;
    const principal = await this.principalOf(c.req.header("authorization"));
    if (principal instanceof HttpError) {
      this.options.onFailure?.();
      return principal;
    }
    const permission = permissionOf(spec);
    if (permission.operation < 0 || !this.options.authorizer.enabled) return null;
    const resourceName = permission.parameter ? decodeURIComponent(c.req.param(permission.parameter) ?? "") : clusterResourceName;
    const server = c.env as { requestIP?: (request: Request) => { address: string } | null } | undefined;
    const host = server?.requestIP?.(c.req.raw)?.address ?? "*";
    if (this.options.authorizer.authorize({ principal, host, operation: permission.operation, resourceType: permission.resourceType, resourceName })) return null;
    return new HttpError(403, 40301, `${principal} is not authorized for this request.`);
  }

  private unauthorized(message: string): HttpError {
    const challenges = this.options.methods.map((method) => (method === "basic" ? 'Basic realm="runnel"' : 'Bearer realm="runnel"'));
    return new HttpError(401, 40101, message, challenges.length > 0 ? { "www-authenticate": challenges.join(", ") } : {});
  }

  private async principalOf(header: string | undefined): Promise<string | HttpError> {
    if (this.options.methods.length === 0) return "User:ANONYMOUS";
    if (!header) return this.unauthorized("Authentication required.");
    const space = header.indexOf(" ");
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === "bearer" && this.options.methods.includes("bearer")) {
      const principal = this.tokens.get(sha256Hex(value));
      return principal ?? this.unauthorized("Invalid bearer token.");
    }
    if (scheme === "basic" && this.options.methods.includes("basic")) {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon <= 0) return this.unauthorized("Malformed Basic credentials.");
      const user = decoded.slice(0, colon);
      return (await this.passwordValid(user, decoded.slice(colon + 1))) ? `User:${user}` : this.unauthorized("Invalid user name or password.");
    }
    return this.unauthorized(`Unsupported authentication scheme; use ${this.options.methods.join(" or ")}.`);
  }

  private async passwordValid(user: string, password: string): Promise<boolean> {
    const credentials = this.options.credentials(user);
    // The stored keys are part of the key: a changed or deleted credential is never remembered.
    const fingerprint = credentials.map((credential) => Buffer.from(credential.storedKey).toString("base64")).join(",");
    const key = `${user}\u0000${fingerprint}\u0000${sha256Hex(password)}`;
    const now = Date.now();
    const until = this.remembered.get(key);
    if (until !== undefined && until > now) return true;
    for (const credential of credentials) {
      if (!(await passwordMatches(credential, password))) continue;
      if (this.remembered.size >= rememberedMax) this.remembered.delete(this.remembered.keys().next().value!);
      this.remembered.set(key, now + rememberMs);
      return true;
    }
    return false;
  }
}
