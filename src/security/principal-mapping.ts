// The principal of a mutual-TLS client: the distinguished name of its certificate, as Java's
// X500Principal.getName() prints it (RFC 2253: most specific first, "CN=alice,OU=eng,O=Acme"),
// mapped by ssl.principal.mapping.rules, Kafka's syntax:
//
//   RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L,DEFAULT
//
// The first rule whose pattern matches the whole DN rewrites it (an optional /L or /U lower- or
// upper-cases the result); DEFAULT keeps the DN. No matching rule: the client is refused (Kafka
// throws "No rules apply to DN").

import { ConfigError } from "../config/parse.ts";

export type PrincipalRule = { kind: "default" } | { kind: "rule"; pattern: RegExp; replacement: string; caseChange: "" | "L" | "U" };

const ruleSyntax = /(DEFAULT)|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?)/gy;

export function parsePrincipalMappingRules(key: string, text: string): PrincipalRule[] {
  const rules: PrincipalRule[] = [];
  const source = text.trim();
  let at = 0;
  while (at < source.length) {
    ruleSyntax.lastIndex = at;
    const match = ruleSyntax.exec(source);
    if (!match) throw new ConfigError(key, `cannot parse a rule at "${source.slice(at, at + 40)}"`);
    if (match[1]) rules.push({ kind: "default" });
    else {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${match[2]!})$`);
      } catch (error) {
        throw new ConfigError(key, `bad pattern ${match[2]}: ${String(error)}`);
      }
      rules.push({ kind: "rule", pattern, replacement: match[3]!.replace(/\\\//g, "/"), caseChange: (match[4] ?? "") as "" | "L" | "U" });
    }
    at = ruleSyntax.lastIndex;
    while (source[at] === "," || source[at] === " " || source[at] === "\n") at++;
  }
  if (rules.length === 0) throw new ConfigError(key, "no rules (DEFAULT keeps the distinguished name)");
  return rules;
}

/** The mapped name, or null when no rule applies. */
export function applyPrincipalRules(rules: readonly PrincipalRule[], distinguishedName: string): string | null {
  for (const rule of rules) {
    if (rule.kind === "default") return distinguishedName;
    if (!rule.pattern.test(distinguishedName)) continue;
    const mapped = distinguishedName.replace(rule.pattern, rule.replacement);
    return rule.caseChange === "L" ? mapped.toLowerCase() : rule.caseChange === "U" ? mapped.toUpperCase() : mapped;
  }
  return null;
}

function escapeValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ");
}

/**
 * RFC 2253 text of a certificate subject as Bun/Node give it: an object whose keys are in the
 * certificate's order (least specific first), a repeated attribute as an array.
 */
export function distinguishedNameOf(subject: Record<string, string | string[]> | undefined | null): string {
  if (!subject) return "";
  const parts: string[] = [];
  for (const [attribute, value] of Object.entries(subject)) {
    for (const one of Array.isArray(value) ? value : [value]) parts.push(`${attribute}=${escapeValue(one)}`);
  }
  return parts.reverse().join(",");
}
