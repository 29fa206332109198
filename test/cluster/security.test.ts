// Security changes in a cluster of three real broker processes (SASL_PLAINTEXT Kafka listeners,
// the authorizer on): a SCRAM user, an ACL and a client quota created through a broker that is
// not the active controller are forwarded to the controller (cluster/remote-controller.ts), land
// in the metadata log and are enforced by a third broker: the new user authenticates there, is
// allowed what the ACL grants and refused the rest; after DeleteAcls (again through the
// non-controller) it is refused there too; a wrong password is refused.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import type { KafkaConnection } from "../../src/client/connection.ts";
import type { ClientSecurity } from "../../src/client/security.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import {
  AlterClientQuotasApi, AlterUserScramCredentialsApi, CreateAclsApi, CreateTopicsApi, DeleteAclsApi, DescribeClientQuotasApi, DescribeConfigsApi,
} from "../../src/protocol/generated/index.ts";
import { AclOperation, PatternType, PermissionType, ResourceType } from "../../src/security/acl.ts";
import { saltedPassword, scramMechanismByName } from "../../src/security/scram.ts";
import { startCluster, type TestCluster } from "./harness.ts";

const sasl = (username: string, password: string): ClientSecurity => ({ sasl: { mechanism: "SCRAM-SHA-512", username, password } });
const adminSecurity = sasl("admin", "admin-secret");

let cluster: TestCluster;
/** Not the active controller: where the changes are made. */
let forwarder: number;
/** Neither of the others' roles: where the changes are enforced. */
let enforcer: number;
const open: KafkaConnection[] = [];

async function connectAs(node: number, security: ClientSecurity): Promise<KafkaConnection> {
  const connection = await cluster.connect(node, "security-test", security);
  open.push(connection);
  return connection;
}

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 3,
    kafkaProtocol: "SASL_PLAINTEXT",
    clientSecurity: adminSecurity,
    set: {
      "sasl.enabled.mechanisms": "SCRAM-SHA-512",
      "bootstrap.scram.users": "SCRAM-SHA-512=[name=admin,password=admin-secret,iterations=4096]",
      "super.users": "User:admin",
      "offsets.topic.num.partitions": 1,
    },
  });
  const leader = await cluster.quorumLeader();
  const others = cluster.nodes.map((node) => node.id).filter((id) => id !== leader);
  [forwarder, enforcer] = [others[0]!, others[1]!];
  const admin = await connectAs(forwarder, adminSecurity);
  const created = await admin.request(CreateTopicsApi, {
    topics: ["granted", "refused"].map((name) => ({ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] })),
    timeoutMs: 10000, validateOnly: false,
  });
  expect(created.topics.map((topic) => topic.errorCode)).toEqual([0, 0]);
}, 90_000);

afterAll(async () => {
  for (const connection of open) connection.close();
  await cluster?.close();
});

/** DescribeConfigs of a topic as `connection`'s user: NONE or TOPIC_AUTHORIZATION_FAILED. */
async function describeTopicConfigs(connection: KafkaConnection, topic: string): Promise<number> {
  const response = await connection.request(DescribeConfigsApi, {
    resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ["cleanup.policy"] }], includeSynonyms: false, includeDocumentation: false,
  });
  return response.results[0]!.errorCode;
}

describe("security changes through a broker that is not the controller", () => {
  test("a SCRAM user and an ACL made on one broker are enforced on another", async () => {
    const admin = await connectAs(forwarder, adminSecurity);
    const mechanism = scramMechanismByName("SCRAM-SHA-512")!;
    const salt = new Uint8Array(randomBytes(24));
    const altered = await admin.request(AlterUserScramCredentialsApi, {
      deletions: [],
      upsertions: [{ name: "bob", mechanism: mechanism.id, iterations: 4096, salt, saltedPassword: await saltedPassword(mechanism, "bob-secret", salt, 4096) }],
    });
    expect(altered.results.map((result) => [result.user, result.errorCode])).toEqual([["bob", ErrorCode.NONE]]);
    const acl = await admin.request(CreateAclsApi, {
      creations: [{
        resourceType: ResourceType.TOPIC, resourceName: "granted", resourcePatternType: PatternType.LITERAL,
        principal: "User:bob", host: "*", operation: AclOperation.DESCRIBE_CONFIGS, permissionType: PermissionType.ALLOW,
      }],
    });
    expect(acl.results.map((result) => result.errorCode)).toEqual([ErrorCode.NONE]);

    // The enforcer's image follows the metadata log: wait until bob may log in there.
    const bob = await cluster.waitFor(`bob authenticates on node ${enforcer}`, () => connectAs(enforcer, sasl("bob", "bob-secret")), 20_000);
    await cluster.waitFor("the ACL is enforced on the other broker", async () =>
      (await describeTopicConfigs(bob, "granted")) === ErrorCode.NONE ? true : undefined, 20_000);
    expect(await describeTopicConfigs(bob, "refused")).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await expect(connectAs(enforcer, sasl("bob", "wrong-secret"))).rejects.toThrow(/authentication/i);

    const deleted = await admin.request(DeleteAclsApi, {
      filters: [{
        resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: "User:bob",
        hostFilter: null, operation: AclOperation.ANY, permissionType: PermissionType.ANY,
      }],
    });
    expect(deleted.filterResults.map((result) => [result.errorCode, result.matchingAcls.length])).toEqual([[ErrorCode.NONE, 1]]);
    await cluster.waitFor("the ACL's removal is enforced on the other broker", async () =>
      (await describeTopicConfigs(bob, "granted")) === ErrorCode.TOPIC_AUTHORIZATION_FAILED ? true : undefined, 20_000);
  }, 60_000);

  test("a client quota set on one broker is described by another", async () => {
    const admin = await connectAs(forwarder, adminSecurity);
    const altered = await admin.request(AlterClientQuotasApi, {
      entries: [{ entity: [{ entityType: "user", entityName: "bob" }], ops: [{ key: "producer_byte_rate", value: 65536, remove: false }] }],
      validateOnly: false,
    });
    expect(altered.entries.map((entry) => entry.errorCode)).toEqual([ErrorCode.NONE]);
    const elsewhere = await connectAs(enforcer, adminSecurity);
    const described = await cluster.waitFor("the quota on the other broker", async () => {
      const response = await elsewhere.request(DescribeClientQuotasApi, { components: [{ entityType: "user", matchType: 0, match: "bob" }], strict: false });
      return (response.entries?.length ?? 0) > 0 ? response : undefined;
    }, 20_000);
    expect(described.errorCode).toBe(ErrorCode.NONE);
    expect(described.entries![0]!.values.map((value) => [value.key, value.value])).toEqual([["producer_byte_rate", 65536]]);
  }, 60_000);
});
