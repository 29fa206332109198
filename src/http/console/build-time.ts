// What the web console embeds, made when the server module that imports it is transpiled: these
// functions run as Bun macros (`import … with { type: "macro" }` in assets.ts), so their results are
// inlined as constants — at `bun run build` into the single binary, and on the first request for the
// console when Runnel runs from source. Nothing is read from disk or fetched at run time.
//
// The client is bundled by spawning `bun build` (a macro may not call Bun.build: the bundler would
// wait for itself). The committed benchmark results (bench/results/*.md and their SVG plots) are
// read as text.

import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const clientDirectory = join(import.meta.dir, "client");
const benchResultsDirectory = resolve(import.meta.dir, "../../../bench/results");

/** The client's TypeScript bundled and minified for browsers: one ES module. */
export function clientScript(): string {
  const result = Bun.spawnSync([process.execPath, "build", join(clientDirectory, "main.ts"), "--target=browser", "--format=esm", "--minify"], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`bundling the web console failed:\n${result.stderr.toString()}`);
  return result.stdout.toString();
}

export function clientStyles(): string {
  return readFileSync(join(clientDirectory, "style.css"), "utf8");
}

export function clientPage(): string {
  return readFileSync(join(clientDirectory, "index.html"), "utf8");
}

/** bench/results: every Markdown report and SVG plot, by file name (sorted). */
export function benchResults(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(benchResultsDirectory).sort()) {
    if (name.endsWith(".md") || name.endsWith(".svg")) files[name] = readFileSync(join(benchResultsDirectory, name), "utf8");
  }
  return files;
}
