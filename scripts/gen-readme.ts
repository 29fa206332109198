// `bun scripts/gen-readme.ts`: rewrites the generated sections of README.md (the CLI reference from
// the commands' flag declarations, the configuration reference from src/config/schema.ts) between
// their <!-- generated:NAME --> … <!-- /generated:NAME --> markers. test/unit/readme.test.ts fails
// when they are stale.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderCliReference } from "../src/cli/reference.ts";
import { renderConfigReference } from "../src/config/reference.ts";

export const readmePath = join(import.meta.dir, "..", "README.md");

export const generatedSections: Record<string, () => string> = {
  cli: renderCliReference,
  config: renderConfigReference,
};

/** The README with every generated section rendered anew. */
export function renderReadme(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(generatedSections)) {
    const open = `<!-- generated:${name} (bun scripts/gen-readme.ts; do not edit by hand) -->`;
    const close = `<!-- /generated:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README.md lacks the markers of the generated section "${name}"`);
    out = `${out.slice(0, start + open.length)}\n${render()}\n${out.slice(end)}`;
  }
  return out;
}

if (import.meta.main) {
  const before = readFileSync(readmePath, "utf8");
  const after = renderReadme(before);
  writeFileSync(readmePath, after);
  console.log(before === after ? "README.md is up to date" : "README.md: generated sections rewritten");
}
