// ssl.principal.mapping.rules (src/security/principal-mapping.ts): Kafka's RULE syntax, /L and /U,
// DEFAULT, no matching rule; and the RFC 2253 text of a certificate subject.

import { expect, test } from "bun:test";
import { ConfigError } from "../../src/config/index.ts";
import { applyPrincipalRules, distinguishedNameOf, parsePrincipalMappingRules } from "../../src/security/principal-mapping.ts";

test("rules apply in order; DEFAULT keeps the DN; no match is null", () => {
  const rules = parsePrincipalMappingRules("k", "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$2/L, DEFAULT");
  expect(applyPrincipalRules(rules, "CN=kafka1,OU=ServiceUsers,O=Org")).toBe("kafka1");
  expect(applyPrincipalRules(rules, "CN=Duke,OU=JavaSoft,O=Sun")).toBe("duke@javasoft");
  expect(applyPrincipalRules(rules, "CN=x")).toBe("CN=x");
  const strict = parsePrincipalMappingRules("k", "RULE:^CN=([^,]+),.*$/$1/U");
  expect(applyPrincipalRules(strict, "CN=alice,OU=eng")).toBe("ALICE");
  expect(applyPrincipalRules(strict, "O=nobody")).toBeNull();
  expect(applyPrincipalRules(parsePrincipalMappingRules("k", "DEFAULT"), "CN=a,O=b")).toBe("CN=a,O=b");
});

test("bad rules are refused naming the key", () => {
  expect(() => parsePrincipalMappingRules("ssl.principal.mapping.rules", "RULE:nope")).toThrow(ConfigError);
  expect(() => parsePrincipalMappingRules("ssl.principal.mapping.rules", "RULE:(/x/")).toThrow(/bad pattern/);
  expect(() => parsePrincipalMappingRules("ssl.principal.mapping.rules", "")).toThrow(ConfigError);
});

test("a subject in certificate order becomes RFC 2253 text, most specific first, escaped", () => {
  expect(distinguishedNameOf({ C: "US", O: "Acme, Inc", OU: ["a", "b"], CN: "alice" })).toBe("CN=alice,OU=b,OU=a,O=Acme\\, Inc,C=US");
  expect(distinguishedNameOf(undefined)).toBe("");
});
