// The configuration reference in README.md, rendered from the schema (schema.ts) so that it cannot
// drift: `bun scripts/gen-readme.ts` writes it, and test/unit/readme.test.ts fails when the README
// differs from what this renders.

import { formatValue } from "./parse.ts";
import { brokerSchema, type ConfigDef, topicSchema } from "./schema.ts";

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function range(def: ConfigDef<unknown>): string {
  const parts: string[] = [];
  if (def.oneOf) parts.push(def.oneOf.join(", "));
  if (def.min !== undefined) parts.push(`≥ ${def.min}`);
  if (def.max !== undefined) parts.push(`≤ ${def.max}`);
  return parts.join("; ");
}

function table(schema: Readonly<Record<string, ConfigDef<unknown>>>, withTopicKey: boolean): string {
  const header = withTopicKey
    ? "| key | type | default | values | topic key it defaults | meaning |\n| --- | --- | --- | --- | --- | --- |"
    : "| key | type | default | values | meaning |\n| --- | --- | --- | --- | --- |";
  const rows = Object.entries(schema).sort(([left], [right]) => left.localeCompare(right)).map(([key, def]) => {
    const value = formatValue(def, def.default);
    const cells = [`\`${key}\``, def.kind, value === null ? "(none)" : value === "" ? "(empty)" : `\`${escapeCell(value)}\``, escapeCell(range(def))];
    if (withTopicKey) cells.push(def.topicKey ? `\`${def.topicKey}\`` : "");
    cells.push(escapeCell(def.doc));
    return `| ${cells.join(" | ")} |`;
  });
  return [header, ...rows].join("\n");
}

/** Markdown: the broker keys, then the topic-level keys. */
export function renderConfigReference(): string {
  return [
    "Broker keys (`--set key=value`, a `server.properties` file with `--config`, or `RUNNEL_KEY_NAME`):",
    "",
    table(brokerSchema, true),
    "",
    "Topic-level keys (`runnel topics create --config key=value`, `runnel topics alter`, or any Kafka admin client):",
    "",
    table(topicSchema, false),
  ].join("\n");
}
