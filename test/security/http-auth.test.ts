// The HTTP API with the Kafka listeners' principals and ACLs: Basic authentication against SCRAM
// users, bearer tokens from a file (clear or sha256:), 401 with WWW-Authenticate, 403 from the
// ACLs, the open paths (/healthz, /metrics) served to anyone, and no way around the ACLs when no
// HTTP authentication is configured (callers are User:ANONYMOUS).

import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBroker, type Broker } from "../helpers/broker.ts";

let broker: Broker;
let open: Broker;
let directory: string;
let cluster: string;

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
const records = (url: string, topic: string) => `${url}/v3/clusters/${cluster}/topics/${topic}/records`;
const produce = (url: string, topic: string, headers: Record<string, string>) =>
  fetch(records(url, topic), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ value: { type: "STRING", data: "over http" } }) });

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "runnel-http-auth-"));
  const tokens = join(directory, "tokens");
  writeFileSync(tokens, `# token principal\nplain-token-123 User:alice\nsha256:${createHash("sha256").update("hashed-token-456").digest("hex")} User:admin\n`);
  const users = "SCRAM-SHA-256=[name=admin,password=admin-secret,iterations=4096];SCRAM-SHA-512=[name=alice,password=alice-secret,iterations=4096]";
  const common = { listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,HTTP://127.0.0.1:0", "bootstrap.scram.users": users, "super.users": "User:admin" };
  broker = await startBroker({ set: { ...common, "http.authentication.methods": "basic,bearer", "http.bearer.tokens.location": tokens } });
  open = await startBroker({ set: common });
  cluster = ((await (await fetch(`${broker.httpUrl}/v3/clusters`, { headers: basic("admin", "admin-secret") })).json()) as { data: { cluster_id: string }[] }).data[0]!.cluster_id;
  // alice may do anything to topics under alice- (an ACL made through the Kafka admin API).
  const { connectTo } = await import("../helpers/connection.ts");
  const { CreateAclsApi, CreateTopicsApi } = await import("../../src/protocol/generated/index.ts");
  const admin = await connectTo(broker.listeners.get("SASL_PLAINTEXT")!, "http-auth", { security: { sasl: { mechanism: "SCRAM-SHA-256", username: "admin", password: "admin-secret" } } });
  const created = await admin.request(CreateAclsApi, {
    creations: [{ resourceType: 2, resourceName: "alice-", resourcePatternType: 4, principal: "User:alice", host: "*", operation: 2, permissionType: 3 }],
  });
  expect(created.results[0]!.errorCode).toBe(0);
  const topics = await admin.request(CreateTopicsApi, {
    topics: ["alice-http", "other-topic"].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10000, validateOnly: false,
  });
  expect(topics.topics.map((topic) => topic.errorCode)).toEqual([0, 0]);
  admin.close();
}, 30000);

afterAll(async () => {
  await broker?.stop();
  await open?.stop();
  rmSync(directory, { recursive: true, force: true });
});

test("no or wrong credentials: 401 with the challenges; open paths are served to anyone", async () => {
  const missing = await fetch(`${broker.httpUrl}/v3/clusters`);
  expect(missing.status).toBe(401);
  expect(missing.headers.get("www-authenticate")).toBe('Basic realm="runnel", Bearer realm="runnel"');
  expect((await fetch(`${broker.httpUrl}/v3/clusters`, { headers: basic("alice", "wrong") })).status).toBe(401);
  expect((await fetch(`${broker.httpUrl}/v3/clusters`, { headers: basic("nobody", "x") })).status).toBe(401);
  expect((await fetch(`${broker.httpUrl}/v3/clusters`, { headers: { authorization: "Bearer not-a-token" } })).status).toBe(401);
  expect((await fetch(`${broker.httpUrl}/healthz`)).status).toBe(200);
  const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
  expect(metrics).toMatch(/runnel_failed_authentications_total\{listener="HTTP"\} [4-9]/);
});

test("Basic and bearer map to the same principals and ACLs as Kafka clients", async () => {
  expect((await produce(broker.httpUrl, "alice-http", basic("alice", "alice-secret"))).status).toBe(200);
  expect((await produce(broker.httpUrl, "alice-http", { authorization: "Bearer plain-token-123" })).status).toBe(200);
  const refused = await produce(broker.httpUrl, "other-topic", basic("alice", "alice-secret"));
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { error_code: number }).error_code).toBe(40301);
  // The cluster view needs DESCRIBE on the cluster: alice has none, the super user (hashed token) does.
  expect((await fetch(`${broker.httpUrl}/v3/clusters`, { headers: basic("alice", "alice-secret") })).status).toBe(403);
  expect((await fetch(`${broker.httpUrl}/v3/clusters`, { headers: { authorization: "Bearer hashed-token-456" } })).status).toBe(200);
  const read = await fetch(`${records(broker.httpUrl, "alice-http").replace("/records", "/partitions/0/records")}?offset=0`, { headers: basic("alice", "alice-secret") });
  expect(read.status).toBe(200);
});

test("without HTTP authentication, callers are User:ANONYMOUS and the ACLs still apply", async () => {
  const clusters = await fetch(`${open.httpUrl}/v3/clusters`);
  expect(clusters.status).toBe(403);
  expect((await fetch(`${open.httpUrl}/healthz`)).status).toBe(200);
});
