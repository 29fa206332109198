// The whole test suite, as `bun run test` (README) and CI (.ci/run) run it:
//   1. type-check the project with TypeScript (strict), and the web console's browser code apart;
//   2. every test file under test/ with the native helper;
//   3. the native, storage conformance and crash suites again with the pure-TS fallback
//      (RUNNEL_NATIVE=0).
// It prints the counts of each stage apart (type-check, native, fallback), names every test file
// that failed to load (bun reports such a file as an error outside any test, and its tests vanish
// from the JUnit report: each counts as one failure here, by name), and ends with one line
// `N passed, N failed, N skipped` (CI reads it), summed from bun's JUnit reports. It exits non-zero
// if anything failed.

import { mkdirSync, readFileSync, rmSync, existsSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const reportDir = join(root, "tmp", "test-reports");
rmSync(reportDir, { recursive: true, force: true });
mkdirSync(reportDir, { recursive: true });

interface Tally { passed: number; failed: number; skipped: number }
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
const failures: string[] = [];
/** Each stage's own counts, printed apart at the end. */
const stages: { label: string; tally: Tally }[] = [];

/** The test files a `bun test` run over `paths` (files or folders) should load, relative to the root. */
function testFilesUnder(paths: string[]): string[] {
  const files = new Set<string>();
  for (const path of paths) {
    const absolute = join(root, path);
    if (!existsSync(absolute)) continue;
    if (statSync(absolute).isFile()) {
      files.add(relative(root, absolute));
      continue;
    }
    for (const file of new Bun.Glob("**/*.test.{ts,tsx,js}").scanSync({ cwd: absolute })) files.add(relative(root, join(absolute, file)));
  }
  return [...files].sort();
}

function run(label: string, command: string[], env: Record<string, string> = {}): number {
  console.log(`\n=== ${label}: ${command.join(" ")}`);
  const result = Bun.spawnSync(command, {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "inherit",
    stderr: "inherit",
  });
  return result.exitCode ?? 1;
}

function tallyJunit(label: string, file: string, exitCode: number, paths: string[]): void {
  const tally: Tally = { passed: 0, failed: 0, skipped: 0 };
  stages.push({ label, tally });
  const add = (key: keyof Tally, count: number) => {
    tally[key] += count;
    total[key] += count;
  };
  if (!existsSync(file)) {
    add("failed", 1);
    failures.push(`${label}: no report written (exit ${exitCode})`);
    return;
  }
  const xml = readFileSync(file, "utf8");
  const head = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(head)?.[1] ?? 0);
  const tests = attr("tests");
  const failed = attr("failures") + attr("errors");
  const skipped = attr("skipped");
  add("passed", tests - failed - skipped);
  add("failed", failed);
  add("skipped", skipped);
  if (failed > 0) failures.push(`${label}: ${failed} failed`);
  // A file that failed to load has no <testsuite> in the report: name it, count it as a failure.
  const reported = new Set([...xml.matchAll(/<testsuite\b[^>]*\bfile="([^"]+)"/g)].map((match) => match[1]!));
  const unloaded = testFilesUnder(paths).filter((path) => !reported.has(path));
  for (const path of unloaded) {
    add("failed", 1);
    failures.push(`${label}: ${path} failed to load (none of its tests ran; see its error above)`);
  }
  if (exitCode !== 0 && failed === 0 && unloaded.length === 0) {
    // bun exits non-zero for errors outside a test (an unhandled error between tests).
    add("failed", 1);
    failures.push(`${label}: bun test exited ${exitCode} outside any test`);
  }
}

const only = process.argv.slice(2);

// 1. Type-check.
if (only.length === 0) {
  // The web console's browser code is its own project (DOM types, no Bun types).
  const code = run("typecheck", ["bunx", "tsc", "--noEmit", "-p", "."]) || run("typecheck (web console client)", ["bunx", "tsc", "--noEmit", "-p", "src/http/console/client"]);
  const tally: Tally = { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 };
  stages.push({ label: "typecheck", tally });
  total.passed += tally.passed;
  total.failed += tally.failed;
  if (code !== 0) failures.push("typecheck: tsc reported errors");
}

// 2. Everything, natively.
const nativeReport = join(reportDir, "native.xml");
const nativePaths = only.length ? only : ["test/"];
const nativeCode = run("tests (native helper)", [
  "bun", "test", ...nativePaths, "--reporter=junit", `--reporter-outfile=${nativeReport}`,
]);
tallyJunit("native", nativeReport, nativeCode, nativePaths);

// 3. Native, storage and crash suites with the pure-TS fallback.
if (only.length === 0) {
  const fallbackReport = join(reportDir, "fallback.xml");
  const fallbackPaths = ["test/native/", "test/storage/"];
  const fallbackCode = run(
    "storage suites (RUNNEL_NATIVE=0 fallback)",
    ["bun", "test", ...fallbackPaths, "--reporter=junit", `--reporter-outfile=${fallbackReport}`],
    { RUNNEL_NATIVE: "0" },
  );
  tallyJunit("fallback", fallbackReport, fallbackCode, fallbackPaths);
}

console.log("");
for (const { label, tally } of stages) {
  console.log(`${label.padEnd(9)} ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped`);
}
for (const failure of failures) console.log(`FAILED ${failure}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
