// The whole test suite, as `bun run test` (README) and CI (.ci/run) run it:
//   1. type-check the project with TypeScript (strict);
//   2. every test file under test/ with the native helper;
//   3. the native, storage conformance and crash suites again with the pure-TS fallback
//      (RUNNEL_NATIVE=0).
// It ends with one line `N passed, N failed, N skipped` (CI reads it), summed from bun's JUnit
// reports, and exits non-zero if anything failed.

import { mkdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const reportDir = join(root, "tmp", "test-reports");
rmSync(reportDir, { recursive: true, force: true });
mkdirSync(reportDir, { recursive: true });

interface Tally { passed: number; failed: number; skipped: number }
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
const failures: string[] = [];

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

function tallyJunit(label: string, file: string, exitCode: number): void {
  if (!existsSync(file)) {
    total.failed += 1;
    failures.push(`${label}: no report written (exit ${exitCode})`);
    return;
  }
  const xml = readFileSync(file, "utf8");
  const head = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(head)?.[1] ?? 0);
  const tests = attr("tests");
  const failed = attr("failures") + attr("errors");
  const skipped = attr("skipped");
  total.passed += tests - failed - skipped;
  total.failed += failed;
  total.skipped += skipped;
  if (failed > 0) failures.push(`${label}: ${failed} failed`);
  if (exitCode !== 0 && failed === 0) {
    // bun exits non-zero for errors outside a test (a file that does not load, an unhandled error).
    total.failed += 1;
    failures.push(`${label}: bun test exited ${exitCode} outside any test`);
  }
}

const only = process.argv.slice(2);

// 1. Type-check.
if (only.length === 0) {
  const code = run("typecheck", ["bunx", "tsc", "--noEmit", "-p", "."]);
  if (code === 0) total.passed += 1;
  else {
    total.failed += 1;
    failures.push("typecheck: tsc reported errors");
  }
}

// 2. Everything, natively.
const nativeReport = join(reportDir, "native.xml");
const nativeCode = run("tests (native helper)", [
  "bun", "test", ...(only.length ? only : ["test/"]), "--reporter=junit", `--reporter-outfile=${nativeReport}`,
]);
tallyJunit("tests (native helper)", nativeReport, nativeCode);

// 3. Native, storage and crash suites with the pure-TS fallback.
if (only.length === 0) {
  const fallbackReport = join(reportDir, "fallback.xml");
  const fallbackCode = run(
    "storage suites (RUNNEL_NATIVE=0 fallback)",
    ["bun", "test", "test/native/", "test/storage/", "--reporter=junit", `--reporter-outfile=${fallbackReport}`],
    { RUNNEL_NATIVE: "0" },
  );
  tallyJunit("storage suites (fallback)", fallbackReport, fallbackCode);
}

console.log("");
for (const failure of failures) console.log(`FAILED ${failure}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 ? 1 : 0);
