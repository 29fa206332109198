// SASL/OAUTHBEARER with Kafka's unsecured token validator (src/security/oauthbearer.ts): the
// validator's rules on made-up tokens, then a real broker with OAUTHBEARER enabled on a
// SASL_PLAINTEXT listener: kcat (librdkafka's own unsecured JWT, sasl.oauthbearer.config=principal=…)
// logs in as the token's principal, whose ACLs apply (a super user produces, another user is
// refused); a token that fails validation gets Kafka's {"status":"invalid_token"} challenge and then
// SASL_AUTHENTICATION_FAILED, and the connection is closed.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { SaslAuthenticateApi, SaslHandshakeApi } from "../../src/protocol/generated/index.ts";
import { defaultUnsecuredValidatorOptions, unsecuredValidatorOptionsOf, validateUnsecuredToken } from "../../src/security/oauthbearer.ts";
import { run, startBroker, type Broker } from "../helpers/broker.ts";
import { connectTo } from "../helpers/connection.ts";

const now = 1_800_000_000_000;
const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const token = (claims: object, header: object = { alg: "none" }, signature = "") => `${part(header)}.${part(claims)}.${signature}`;
const seconds = (ms: number) => ms / 1000;

describe("the unsecured token validator", () => {
  const options = defaultUnsecuredValidatorOptions;
  test("a token with sub and a future exp is valid; its expiry is kept", () => {
    expect(validateUnsecuredToken(token({ sub: "alice", exp: seconds(now + 60_000), iat: seconds(now) }), options, now))
      .toEqual({ principal: "alice", expiresAtMs: now + 60_000 });
  });
  test("refused: a signed token, a signature, no sub, no or a past exp, iat in the future, malformed parts", () => {
    const exp = seconds(now + 60_000);
    const refused = [
      token({ sub: "alice", exp }, { alg: "HS256" }),
      token({ sub: "alice", exp }, { alg: "none" }, "c2ln"),
      token({ exp }),
      token({ sub: "", exp }),
      token({ sub: "alice" }),
      token({ sub: "alice", exp: seconds(now - 1) }),
      token({ sub: "alice", exp, iat: seconds(now + 10_000) }),
      "not-a-token",
      "e30.!!!.",
    ];
    for (const candidate of refused) expect(() => validateUnsecuredToken(candidate, options, now), candidate).toThrow();
  });
  test("options from sasl.jaas.config: principal claim, required scope, clock skew", () => {
    const configured = unsecuredValidatorOptionsOf(
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorPrincipalClaimName="user" unsecuredValidatorRequiredScope="kafka" unsecuredValidatorAllowableClockSkewMs="5000";',
    );
    expect(configured).toEqual({ principalClaimName: "user", scopeClaimName: "scope", requiredScope: ["kafka"], allowableClockSkewMs: 5000 });
    expect(validateUnsecuredToken(token({ user: "bob", scope: "read kafka", exp: seconds(now - 1000) }), configured, now).principal).toBe("bob");
    expect(() => validateUnsecuredToken(token({ user: "bob", scope: "read", exp: seconds(now + 1000) }), configured, now)).toThrow(/scope/);
  });
});

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker({
    set: {
      listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
      "sasl.enabled.mechanisms": "OAUTHBEARER,SCRAM-SHA-512",
      "super.users": "User:admin",
      "num.partitions": 1,
      "connection.failed.authentication.delay.ms": 10,
    },
  });
}, 30_000);

afterAll(async () => {
  await broker?.stop();
});

const kcatAs = (principal: string) => [
  "kcat", "-b", broker.listeners.get("SASL_PLAINTEXT")!, "-X", "broker.address.family=v4", "-X", "security.protocol=SASL_PLAINTEXT",
  "-X", "sasl.mechanisms=OAUTHBEARER", "-X", "enable.sasl.oauthbearer.unsecure.jwt=true", "-X", `sasl.oauthbearer.config=principal=${principal}`,
];

test("kcat logs in with an unsecured token as its principal, whose ACLs apply", async () => {
  await run([...kcatAs("admin"), "-P", "-t", "oauth-topic"], { stdin: "from-admin\n", timeoutMs: 30_000 });
  const read = await run([...kcatAs("admin"), "-C", "-t", "oauth-topic", "-e", "-o", "beginning", "-f", "%s\n"], { timeoutMs: 30_000 });
  expect(new TextDecoder().decode(read.stdout).trim()).toBe("from-admin");
  // alice has no ACL: her produce is refused with Kafka's authorization error.
  const child = Bun.spawn([...kcatAs("alice"), "-P", "-t", "oauth-topic"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  child.stdin.write("from-alice\n");
  child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [stderr] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  expect(stderr).toMatch(/Topic authorization failed|TOPIC_AUTHORIZATION_FAILED/i);
}, 90_000);

test("a token that fails validation: invalid_token challenge, then SASL_AUTHENTICATION_FAILED and a closed connection", async () => {
  const connection = await connectTo(broker.listeners.get("SASL_PLAINTEXT")!, "oauth-test");
  const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
  try {
    const handshake = await connection.request(SaslHandshakeApi, { mechanism: "OAUTHBEARER" }, { version: 1 });
    expect(handshake.errorCode).toBe(ErrorCode.NONE);
    const expired = token({ sub: "alice", exp: seconds(Date.now() - 60_000) });
    const first = await connection.request(SaslAuthenticateApi, { authBytes: new TextEncoder().encode(`n,,\u0001auth=Bearer ${expired}\u0001\u0001`) });
    expect(first.errorCode).toBe(ErrorCode.NONE);
    expect(JSON.parse(new TextDecoder().decode(first.authBytes))).toEqual({ status: "invalid_token" });
    const second = await connection.request(SaslAuthenticateApi, { authBytes: new Uint8Array([1]) });
    expect(second.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(second.errorMessage).toContain("invalid_token");
    await closed;
  } finally {
    connection.close();
  }
}, 30_000);
