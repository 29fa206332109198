// README.md's generated sections (CLI reference, configuration reference) match what the code
// renders: adding a config key or a flag without `bun scripts/gen-readme.ts` fails here.

import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readmePath, renderReadme } from "../../scripts/gen-readme.ts";
import { brokerSchema, topicSchema } from "../../src/config/schema.ts";

test("README.md's generated sections are up to date (run `bun scripts/gen-readme.ts`)", () => {
  const readme = readFileSync(readmePath, "utf8");
  expect(renderReadme(readme)).toBe(readme);
});

test("every configuration key and every command is in the README", () => {
  const readme = readFileSync(readmePath, "utf8");
  for (const key of [...Object.keys(brokerSchema), ...Object.keys(topicSchema)]) expect(readme).toContain(`| \`${key}\` |`);
  for (const command of ["start", "topics create", "groups reset-offsets", "produce", "consume", "cluster", "bench", "version"]) {
    expect(readme).toContain(`### runnel ${command}`);
  }
});
