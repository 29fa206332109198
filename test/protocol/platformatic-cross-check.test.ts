// Cross-check against an independent codec: @platformatic/kafka's hand-written response parsers
// (one module per API version, node_modules/@platformatic/kafka/dist/apis/*/<api>-v<N>.js) must
// read every response our generated encoders write, and agree on every field both know. This
// catches mistakes a round trip through our own decoder cannot (a field in the wrong place, a wrong
// compact/classic choice, a misplaced tagged field), for every version platformatic implements.

import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { allApis } from "../../src/protocol/generated/index.ts";
import { kebabCase } from "../../scripts/gen-protocol.ts";
import { uuidToBytes, Writer } from "../../src/protocol/primitives.ts";
import { messageByName, sample } from "./samples.ts";

const require = createRequire(import.meta.url);
const platformaticRoot = dirname(require.resolve("@platformatic/kafka/package.json"));
const apisDirectory = join(platformaticRoot, "dist/apis");
const { Reader: PlatformaticReader } = require(join(platformaticRoot, "dist/protocol/reader.js"));

/** platformatic writes UUIDs as 8-4-4-4-12 hex; ours are Kafka's base64 form. */
function hexUuid(text: string): string {
  const hex = Buffer.from(uuidToBytes(text)).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Compares the keys both objects have, recursively; returns the paths that differ. */
function differences(ours: unknown, theirs: unknown, path: string, out: string[]): void {
  if (theirs === undefined || out.length > 5) return;
  if (typeof ours === "string" && typeof theirs === "string" && /^[0-9a-f]{8}-/.test(theirs) && ours.length === 22) {
    if (hexUuid(ours) !== theirs) out.push(`${path}: ${ours} vs ${theirs}`);
    return;
  }
  if (ours instanceof Uint8Array || theirs instanceof Uint8Array) {
    if (ours instanceof Uint8Array && theirs instanceof Uint8Array && Buffer.compare(Buffer.from(ours), Buffer.from(theirs)) !== 0) out.push(`${path}: bytes differ`);
    return;
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    if (ours.length !== theirs.length) {
      out.push(`${path}: length ${ours.length} vs ${theirs.length}`);
      return;
    }
    ours.forEach((item, index) => differences(item, theirs[index], `${path}[${index}]`, out));
    return;
  }
  if (ours !== null && typeof ours === "object" && theirs !== null && typeof theirs === "object") {
    for (const key of Object.keys(ours)) {
      if (key === "records") continue; // platformatic parses record batches; ours are sample bytes
      differences((ours as Record<string, unknown>)[key], (theirs as Record<string, unknown>)[key], `${path}.${key}`, out);
    }
    return;
  }
  if (typeof ours === "bigint" && typeof theirs === "number") {
    if (Number(ours) !== theirs) out.push(`${path}: ${ours} vs ${theirs}`);
    return;
  }
  if (ours !== theirs) out.push(`${path}: ${String(ours)} vs ${String(theirs)}`);
}

/** platformatic turns non-zero error codes into exceptions (and needs known codes): zero them. */
function zeroErrorCodes(value: unknown): void {
  if (Array.isArray(value)) for (const item of value) zeroErrorCodes(item);
  else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === "errorCode" || key.endsWith("ErrorCode")) (value as Record<string, unknown>)[key] = 0;
      else zeroErrorCodes(item);
    }
  }
}

function platformaticModules(): Map<string, string> {
  const modules = new Map<string, string>();
  for (const group of readdirSync(apisDirectory, { withFileTypes: true })) {
    if (!group.isDirectory()) continue;
    for (const file of readdirSync(join(apisDirectory, group.name))) {
      const match = /^(.+)-v(\d+)\.js$/.exec(file);
      if (match) modules.set(`${match[1]}@${match[2]}`, join(apisDirectory, group.name, file));
    }
  }
  return modules;
}

describe("@platformatic/kafka reads our responses", () => {
  const modules = platformaticModules();
  let checked = 0;
  for (const api of allApis) {
    const file = kebabCase(api.name);
    test(`${api.name}`, () => {
      const response = messageByName.get(`${api.name}Response`)!;
      for (let version = api.minVersion; version <= api.maxVersion; version++) {
        const path = modules.get(`${file}@${version}`);
        if (!path) continue;
        const { parseResponse } = require(path);
        if (typeof parseResponse !== "function") continue;
        const { input } = sample(response, response.root, version, false, 1);
        zeroErrorCodes(input);
        const writer = new Writer();
        api.encodeResponse(writer, version, input);
        let theirs: unknown;
        try {
          theirs = parseResponse(1, api.apiKey, version, PlatformaticReader.from(Buffer.from(writer.finish())));
        } catch (error) {
          // Our samples carry non-zero error codes; platformatic then throws with the parsed response.
          theirs = (error as { response?: unknown }).response;
          if (theirs === undefined) throw new Error(`${api.name} v${version}: platformatic failed: ${(error as Error).message}`);
        }
        const found: string[] = [];
        // Only the fields present at this version (the sample input), not our defaults for absent ones.
        differences(input, theirs, `${api.name}v${version}`, found);
        expect(found).toEqual([]);
        checked++;
      }
    });
  }
  test("checked many API versions", () => {
    expect(checked).toBeGreaterThan(100);
  });
});
