// The CLI reference in README.md, rendered from the commands' own flag declarations (the same text
// as their --help), so that it cannot drift: scripts/gen-readme.ts writes it and
// test/unit/readme.test.ts checks it.

import { USAGE } from "./args.ts";
import { usageOf } from "./flags.ts";
import { commands } from "./index.ts";

export function renderCliReference(): string {
  const sections = [`### runnel start\n\n\`\`\`\n${USAGE}\n\`\`\``];
  for (const command of commands) sections.push(`### runnel ${command.name}\n\n\`\`\`\n${usageOf(command)}\n\`\`\``);
  return sections.join("\n\n");
}
