// Real clients against a broker process with every kind of listener (PLAINTEXT, SSL with client
// certificates requested, SASL_PLAINTEXT, SASL_SSL), certificates made by openssl at run time:
//   - kcat (librdkafka 2.0.2) over SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256 and
//     SCRAM-SHA-512, as a user created with `runnel users set` (over SASL_SSL, --command-config);
//   - mutual TLS: alice's certificate is User:alice (ssl.principal.mapping.rules), ACLs apply;
//   - confluent-kafka-python over SASL_SSL (SCRAM-SHA-512) and SSL with a client certificate,
//     with a consumer group;
//   - kafkajs over SASL_SSL, SASL_PLAINTEXT and SSL; kafka-python over SASL_SSL and SASL_PLAINTEXT;
//   - refused, with the errors Kafka clients show, while a connected producer keeps being served:
//     a wrong password, an unknown user, an untrusted certificate, an expired certificate, a
//     plaintext client on a TLS port.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { run, startBroker, type Broker } from "../helpers/broker.ts";
import { makeTestCertificates, type TestCertificates } from "../../src/testing/certificates.ts";

let broker: Broker;
let certs: TestCertificates;
let adminConfig: string;

const python = "/usr/bin/python3";
const runnel = (args: string[], stdin?: string) => run([process.execPath, "src/main.ts", ...args], { stdin, timeoutMs: 60000 });

beforeAll(async () => {
  certs = makeTestCertificates();
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,HTTP://127.0.0.1:0",
      "ssl.keystore.location": certs.path("keystore.pem"),
      "ssl.truststore.location": certs.path("ca.pem"),
      "ssl.client.auth": "requested",
      "ssl.principal.mapping.rules": "RULE:^CN=([^,]+),.*$/$1/,DEFAULT",
      "bootstrap.scram.users": "SCRAM-SHA-256=[name=admin,password=admin-secret];SCRAM-SHA-512=[name=admin,password=admin-secret]",
      "super.users": "User:admin",
      "connection.failed.authentication.delay.ms": 20,
    },
  });
  adminConfig = join(certs.dir, "admin.properties");
  writeFileSync(adminConfig, [
    "security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
    'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";',
    `ssl.truststore.location=${certs.path("ca.pem")}`, "",
  ].join("\n"));
  const admin = ["--bootstrap", broker.listeners.get("SASL_SSL")!, "--command-config", adminConfig];
  await runnel(["users", "set", "alice", "--password-stdin", ...admin], "alice-secret\n");
  await runnel(["acls", "add", "--allow-principal", "User:alice", "--operation", "All", "--topic", "alice-", "--resource-pattern-type", "prefixed", ...admin]);
  await runnel(["acls", "add", "--allow-principal", "User:alice", "--operation", "Read", "--group", "alice-", "--resource-pattern-type", "prefixed", ...admin]);
}, 60000);

afterAll(async () => {
  await broker?.stop();
  certs?.cleanup();
});

const caSettings = () => ["-X", `ssl.ca.location=${certs.path("ca.pem")}`];
function kcatSettings(protocol: string, mechanism?: string, user = "alice", password = "alice-secret"): string[] {
  const settings = ["-X", `security.protocol=${protocol}`];
  if (protocol.endsWith("SSL")) settings.push(...caSettings());
  if (mechanism) settings.push("-X", `sasl.mechanisms=${mechanism}`, "-X", `sasl.username=${user}`, "-X", `sasl.password=${password}`);
  return settings;
}

async function kcatFails(listener: string, settings: string[]): Promise<string> {
  const child = Bun.spawn(["kcat", "-b", broker.listeners.get(listener)!, "-X", "broker.address.family=v4", ...settings, "-L", "-m", "3"], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  expect(code).not.toBe(0);
  return stderr;
}

test("kcat over SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512", async () => {
  const sent: string[] = [];
  for (const listener of ["SASL_PLAINTEXT", "SASL_SSL"]) {
    for (const mechanism of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]) {
      const line = `${listener}-${mechanism}`;
      await run(["kcat", "-b", broker.listeners.get(listener)!, ...kcatSettings(listener, mechanism), "-P", "-t", "alice-kcat"], { stdin: `${line}\n`, timeoutMs: 30000 });
      sent.push(line);
    }
  }
  const { stdout } = await run(["kcat", "-b", broker.listeners.get("SASL_SSL")!, ...kcatSettings("SASL_SSL", "SCRAM-SHA-256"), "-C", "-t", "alice-kcat", "-e", "-o", "beginning", "-q"], { timeoutMs: 30000 });
  expect(new TextDecoder().decode(stdout).trim().split("\n")).toEqual(sent);
}, 90000);

test("mutual TLS: alice's certificate is User:alice; her ACLs apply, another topic is refused", async () => {
  const mtls = ["-X", "security.protocol=SSL", ...caSettings(), "-X", `ssl.certificate.location=${certs.path("alice.pem")}`, "-X", `ssl.key.location=${certs.path("alice.key")}`];
  const address = broker.listeners.get("SSL")!;
  await run(["kcat", "-b", address, ...mtls, "-P", "-t", "alice-mtls"], { stdin: "by certificate\n", timeoutMs: 30000 });
  const { stdout } = await run(["kcat", "-b", address, ...mtls, "-C", "-t", "alice-mtls", "-e", "-o", "beginning", "-q"], { timeoutMs: 30000 });
  expect(new TextDecoder().decode(stdout)).toBe("by certificate\n");
  const child = Bun.spawn(["kcat", "-b", address, ...mtls, "-P", "-t", "bob-topic"], { stdin: new TextEncoder().encode("x\n"), stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(code).not.toBe(0);
  expect(stderr).toContain("Topic authorization failed");
  // The same client without a certificate is User:ANONYMOUS: no ACL lets it see alice's topic.
  const anonymous = await run(["kcat", "-b", address, "-X", "security.protocol=SSL", ...caSettings(), "-L", "-J"], { timeoutMs: 30000 });
  const listed = JSON.parse(new TextDecoder().decode(anonymous.stdout)) as { topics: { topic: string }[] };
  expect(listed.topics.map((topic) => topic.topic)).not.toContain("alice-mtls");
}, 60000);

test("confluent-kafka-python over SASL_SSL (SCRAM-SHA-512) and SSL with a client certificate, with a consumer group", async () => {
  const scram = ["security.protocol=SASL_SSL", "sasl.mechanisms=SCRAM-SHA-512", "sasl.username=alice", "sasl.password=alice-secret", `ssl.ca.location=${certs.path("ca.pem")}`];
  const script = join(import.meta.dir, "python", "secure_roundtrip.py");
  const viaScram = await run([python, script, broker.listeners.get("SASL_SSL")!, "alice-python", "alice-py-group", ...scram], { timeoutMs: 90000 });
  expect(new TextDecoder().decode(viaScram.stdout).trim().split("\n")).toEqual(["py-0", "py-1", "py-2", "py-3", "py-4"]);
  const mtls = ["security.protocol=SSL", `ssl.ca.location=${certs.path("ca.pem")}`, `ssl.certificate.location=${certs.path("alice.pem")}`, `ssl.key.location=${certs.path("alice.key")}`];
  const viaCertificate = await run([python, script, broker.listeners.get("SSL")!, "alice-python-tls", "alice-py-tls-group", ...mtls], { timeoutMs: 90000 });
  expect(new TextDecoder().decode(viaCertificate.stdout).trim().split("\n")).toHaveLength(5);
}, 120000);

test("kafka-python over SASL_SSL (SCRAM-SHA-256) and SASL_PLAINTEXT (PLAIN)", async () => {
  const script = join(import.meta.dir, "python", "kafka_python_secure.py");
  const scram = await run([python, script, broker.listeners.get("SASL_SSL")!, "alice-kafka-python", "SASL_SSL", certs.path("ca.pem"), "SCRAM-SHA-256", "alice", "alice-secret"], { timeoutMs: 60000 });
  expect(new TextDecoder().decode(scram.stdout).trim()).toBe("kafka-python over SASL_SSL");
  const plain = await run([python, script, broker.listeners.get("SASL_PLAINTEXT")!, "alice-kafka-python-plain", "SASL_PLAINTEXT", certs.path("ca.pem"), "PLAIN", "alice", "alice-secret"], { timeoutMs: 60000 });
  expect(new TextDecoder().decode(plain.stdout).trim()).toBe("kafka-python over SASL_PLAINTEXT");
}, 90000);

function kafkajsClient(listener: string, options: { sasl?: { mechanism: string; username: string; password: string }; certificate?: boolean }): Kafka {
  const tls = listener.endsWith("SSL");
  return new Kafka({
    clientId: "security-test",
    brokers: [broker.listeners.get(listener)!],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    ssl: tls ? { ca: [certs.read("ca.pem")], ...(options.certificate ? { cert: certs.read("alice.pem"), key: certs.read("alice.key") } : {}) } : false,
    // biome-ignore lint: kafkajs's SASL option is a union keyed by mechanism.
    sasl: options.sasl as any,
  });
}

test("kafkajs over SASL_SSL (SCRAM-SHA-256), SASL_PLAINTEXT (PLAIN, SCRAM-SHA-512) and SSL (client certificate)", async () => {
  const cases: [string, Parameters<typeof kafkajsClient>[1]][] = [
    ["SASL_SSL", { sasl: { mechanism: "scram-sha-256", username: "alice", password: "alice-secret" } }],
    ["SASL_PLAINTEXT", { sasl: { mechanism: "plain", username: "alice", password: "alice-secret" } }],
    ["SASL_PLAINTEXT", { sasl: { mechanism: "scram-sha-512", username: "alice", password: "alice-secret" } }],
    ["SSL", { certificate: true }],
  ];
  for (const [index, [listener, options]] of cases.entries()) {
    const kafka = kafkajsClient(listener, options);
    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({ topic: "alice-kafkajs", messages: [{ value: `kafkajs-${index}` }] });
    expect(sent?.errorCode).toBe(0);
    await producer.disconnect();
  }
  const admin = kafkajsClient("SASL_SSL", { sasl: { mechanism: "scram-sha-512", username: "alice", password: "alice-secret" } }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets("alice-kafkajs");
  await admin.disconnect();
  expect(offsets.map((offset) => offset.high)).toEqual(["4"]);
}, 60000);

test("refused with the errors clients show, while a connected producer keeps being served", async () => {
  const producer = kafkajsClient("SASL_SSL", { sasl: { mechanism: "scram-sha-512", username: "alice", password: "alice-secret" } }).producer();
  await producer.connect();
  await producer.send({ topic: "alice-steady", messages: [{ value: "before" }] });

  const invalid = "Authentication failed during authentication due to invalid credentials with SASL mechanism";
  const withCertificate = (name: string) => ["-X", "security.protocol=SSL", ...caSettings(), "-X", `ssl.certificate.location=${certs.path(`${name}.pem`)}`, "-X", `ssl.key.location=${certs.path(`${name}.key`)}`];
  // Bun completes the handshake and the broker closes the connection at once, before any request is
  // read (librdkafka: "SSL routines::unexpected eof" or "Disconnected while requesting ApiVersion");
  // Kafka itself sends a bad_certificate alert during the handshake. Either way nothing is served.
  const handshakeFailure = /SSL routines|SSL handshake failed|Disconnected while requesting ApiVersion/;
  // In parallel: each kcat keeps retrying until its metadata timeout.
  const [wrongPassword, unknownPlain, unknownScram, rogue, expired, plaintextOnTls, tlsOnPlaintext] = await Promise.all([
    kcatFails("SASL_SSL", kcatSettings("SASL_SSL", "SCRAM-SHA-256", "alice", "wrong")),
    kcatFails("SASL_PLAINTEXT", kcatSettings("SASL_PLAINTEXT", "PLAIN", "nobody", "whatever")),
    kcatFails("SASL_PLAINTEXT", kcatSettings("SASL_PLAINTEXT", "SCRAM-SHA-512", "nobody", "whatever")),
    kcatFails("SSL", withCertificate("rogue")),
    kcatFails("SSL", withCertificate("expired")),
    // A plaintext client on a TLS port, and a TLS client on a plaintext port.
    kcatFails("SASL_SSL", ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"]),
    kcatFails("PLAINTEXT", ["-X", "security.protocol=SSL", ...caSettings()]),
  ]);
  expect(wrongPassword).toContain(`${invalid} SCRAM-SHA-256`);
  expect(unknownPlain).toContain(`${invalid} PLAIN`);
  expect(unknownScram).toContain(`${invalid} SCRAM-SHA-512`);
  expect(rogue).toMatch(handshakeFailure);
  expect(expired).toMatch(handshakeFailure);
  expect(plaintextOnTls).toContain("Disconnected while requesting ApiVersion");
  expect(tlsOnPlaintext).toContain("SSL handshake failed");
  const wrong = kafkajsClient("SASL_SSL", { sasl: { mechanism: "scram-sha-256", username: "alice", password: "nope" } }).producer();
  await expect(wrong.connect()).rejects.toThrow(/SASL SCRAM SHA256 authentication failed|invalid credentials/);

  const [after] = await producer.send({ topic: "alice-steady", messages: [{ value: "after" }] });
  expect(after?.baseOffset).toBe("1");
  await producer.disconnect();
  // Failed logins are counted (and logged at WARN with user, mechanism and address).
  const metrics = await (await fetch(`${broker.httpUrl}/metrics`)).text();
  const failed = [...metrics.matchAll(/^runnel_failed_authentications_total\{listener="(\w+)"\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[2]), 0);
  expect(failed).toBeGreaterThanOrEqual(4);
}, 120000);

test("runnel users: list shows mechanisms; a deleted user can no longer log in", async () => {
  const admin = ["--bootstrap", broker.listeners.get("SASL_SSL")!, "--command-config", adminConfig];
  await runnel(["users", "set", "carol", "--password", "carol-secret", "--mechanism", "SCRAM-SHA-256", ...admin]);
  const listed = JSON.parse(new TextDecoder().decode((await runnel(["users", "list", "--json", ...admin])).stdout)) as { user: string; credentials: { mechanism: string }[] }[];
  expect(listed.find((user) => user.user === "carol")?.credentials.map((credential) => credential.mechanism)).toEqual(["SCRAM-SHA-256"]);
  expect(listed.find((user) => user.user === "admin")?.credentials.map((credential) => credential.mechanism).sort()).toEqual(["SCRAM-SHA-256", "SCRAM-SHA-512"]);
  await run(["kcat", "-b", broker.listeners.get("SASL_SSL")!, ...kcatSettings("SASL_SSL", "SCRAM-SHA-256", "carol", "carol-secret"), "-L"], { timeoutMs: 30000 });
  await runnel(["users", "delete", "carol", ...admin]);
  expect(await kcatFails("SASL_SSL", kcatSettings("SASL_SSL", "SCRAM-SHA-256", "carol", "carol-secret"))).toContain("invalid credentials");
  // Without credentials the CLI is ANONYMOUS on the PLAINTEXT listener: the authorizer refuses it.
  const child = Bun.spawn([process.execPath, "src/main.ts", "users", "list", "--bootstrap", broker.bootstrap], { stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(code).toBe(1);
  expect(stderr).toContain("CLUSTER_AUTHORIZATION_FAILED");
}, 90000);
