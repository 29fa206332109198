// `runnel version`: this build's version, the Bun runtime inside it, and whether the native helper
// (CRC-32C, mmap, index search) is loaded or the pure-TypeScript fallback runs.

import packageJson from "../../../package.json" with { type: "json" };
import { native } from "../../native/index.ts";
import { type Command, ExitCode } from "../command.ts";
import { helpFlag } from "../flags.ts";

export const version: string = packageJson.version;

export const versionCommand: Command = {
  name: "version",
  summary: "Print Runnel's version.",
  flags: [{ name: "json", kind: "bool", description: "print JSON" }, helpFlag],
  async run(flags, io) {
    const info = { runnel: version, bun: Bun.version, native: native.name === "native" ? "native helper" : "TypeScript fallback" };
    await io.write(flags.bool("json") ? `${JSON.stringify(info)}\n` : `runnel ${info.runnel} (bun ${info.bun}, ${info.native})\n`);
    return ExitCode.ok;
  },
};
