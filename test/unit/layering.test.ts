// Imports point one way: util → config → protocol/native → client, security → storage → cluster, replication,
// raft, groups, transactions → kafka, http, cli → node → main. The Kafka client (src/client/) sits just above
// protocol: it may import util, config and protocol, and storage and everything above may use it. A
// module may import its own layer or lower ones, never a higher one;
// src/testing/ is for tests and benchmarks only. This test reads every import in src/ and fails
// on an upward edge, naming it.

import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const src = resolve(import.meta.dir, "../../src");

const rank: Record<string, number> = {
  util: 0,
  config: 1,
  protocol: 2,
  native: 2,
  client: 2.5,
  storage: 3,
  cluster: 4,
  groups: 4,
  replication: 4,
  raft: 4,
  security: 2.5,
  transactions: 4,
  kafka: 5,
  http: 5,
  cli: 5,
  "node.ts": 6,
  "main.ts": 7,
  "lib.ts": 7,
  "bin.ts": 8,
};

function layerOf(file: string): string {
  return relative(src, file).split("/")[0]!;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm)].map((match) => match[1]!);
  const bare = [...text.matchAll(/^\s*import\s+"([^"]+)"/gm)].map((match) => match[1]!);
  return [...specifiers, ...bare].filter((specifier) => specifier.startsWith("."))
    .map((specifier) => resolve(dirname(file), specifier));
}

describe("layering", () => {
  const files = sourceFiles(src);

  test("every top-level folder of src/ has a layer", () => {
    const layers = new Set(files.map(layerOf));
    layers.delete("testing");
    for (const layer of layers) expect(rank[layer], `layer of src/${layer}`).toBeNumber();
  });

  test("no module imports a higher layer, and src/ never imports src/testing", () => {
    const upward: string[] = [];
    let edges = 0;
    for (const file of files) {
      const from = layerOf(file);
      for (const target of importsOf(file)) {
        if (!target.startsWith(src)) continue; // data files outside src (native library, descriptors)
        const to = layerOf(target);
        edges++;
        if (to === "testing" && from !== "testing") upward.push(`${relative(src, file)} → ${relative(src, target)}`);
        if (from === "testing" || to === "testing") continue;
        if (rank[to]! > rank[from]!) upward.push(`${relative(src, file)} → ${relative(src, target)}`);
      }
    }
    expect(edges).toBeGreaterThan(100); // the scan really read the imports
    expect(upward).toEqual([]);
  });

  test("the Kafka client imports only util, config and protocol (it must run against any broker, outside this one)", () => {
    // security/ (rank 2.5 like client/): SCRAM's math and the ACL model, pure, no broker state.
    const allowed = new Set(["util", "config", "protocol", "client", "security"]);
    const outside: string[] = [];
    for (const file of files.filter((candidate) => layerOf(candidate) === "client")) {
      for (const target of importsOf(file)) {
        if (target.startsWith(src) && !allowed.has(layerOf(target))) outside.push(`${relative(src, file)} → ${relative(src, target)}`);
      }
    }
    expect(files.some((candidate) => layerOf(candidate) === "client")).toBe(true);
    expect(outside).toEqual([]);
  });
});
