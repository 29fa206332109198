// The native library survives `bun build --compile`: a tiny program that imports
// src/native/embedded.ts (which embeds native/build/librunnel.so) is compiled into one binary,
// copied nowhere near the repository's library, run from an empty directory, and must compute
// CRC-32C through the embedded library (its path is inside Bun's embedded file system, /$bunfs/),
// and take the data directory lock through the system C library (flock) as the broker does.
//
// Skipped only when the library was not built (no C compiler): there is nothing to embed then.
// Skipped in the RUNNEL_NATIVE=0 run of the suite too: the embedding does not depend on that
// switch, and the native run already covers it (a 100 MiB binary is not worth building twice).

import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildNative } from "../../scripts/build-native.ts";
import { builtLibraryPath, expectedAbiVersion } from "../../src/native/ffi.ts";
import { spawnLines } from "../../src/testing/processes.ts";

const repositoryRoot = resolve(import.meta.dir, "..", "..");

if (["gcc", "cc", "clang"].some((name) => Bun.which(name) !== null)) buildNative({ ifStale: true });

const libraryBuilt = existsSync(builtLibraryPath);
const fallbackRun = process.env.RUNNEL_NATIVE === "0";
if (!libraryBuilt) {
  console.warn("single-binary test skipped: native/build/librunnel.so was not built (no C compiler), nothing to embed");
} else if (fallbackRun) {
  console.warn("single-binary test skipped in the RUNNEL_NATIVE=0 run: the native run covers the embedding");
}

const workDirectory = mkdtempSync(join(tmpdir(), "runnel-single-binary-"));
afterAll(() => rmSync(workDirectory, { recursive: true, force: true }));

test.skipIf(!libraryBuilt || fallbackRun)(
  "a compiled binary embeds librunnel.so and computes CRC-32C through it from an empty directory",
  async () => {
    const entry = join(workDirectory, "app.ts");
    const nativeDirectory = join(repositoryRoot, "src", "native");
    writeFileSync(
      entry,
      [
        `import ${JSON.stringify(join(nativeDirectory, "embedded.ts"))};`,
        `import { native, loadNative } from ${JSON.stringify(join(nativeDirectory, "index.ts"))};`,
        `import { lockDataDirectory } from ${JSON.stringify(join(repositoryRoot, "src", "storage", "dir-lock.ts"))};`,
        `const library = loadNative();`,
        `const data = new TextEncoder().encode("123456789");`,
        // The data directory lock (flock through the system C library) works inside the binary:
        // a second lock on the same directory is refused, naming this process.
        `const lock = lockDataDirectory(process.cwd());`,
        `let second = "taken twice";`,
        `try { lockDataDirectory(process.cwd()); } catch (error) { second = String((error as Error).message); }`,
        `console.log(JSON.stringify({ name: native.name, abi: native.abiVersion, crc: native.crc32c(data), path: library?.libraryPath, lock: lock.kind, second, pid: process.pid }));`,
      ].join("\n"),
    );
    const binary = join(workDirectory, "app");
    const build = Bun.spawn([process.execPath, "build", "--compile", entry, "--outfile", binary], {
      cwd: workDirectory,
      stdout: "pipe",
      stderr: "pipe",
    });
    const buildErrors = await new Response(build.stderr).text();
    expect({ exit: await build.exited, buildErrors }).toEqual({ exit: 0, buildErrors: expect.any(String) });

    const emptyDirectory = join(workDirectory, "empty");
    mkdirSync(emptyDirectory);
    const environment: Record<string, string | undefined> = { ...process.env, RUNNEL_NATIVE: "1" };
    delete environment.RUNNEL_NATIVE_LIBRARY;
    const run = Bun.spawn([binary], { cwd: emptyDirectory, env: environment, stdout: "pipe", stderr: "pipe" });
    const [output, errors, exit] = await Promise.all([
      new Response(run.stdout).text(),
      new Response(run.stderr).text(),
      run.exited,
    ]);
    expect({ exit, errors }).toEqual({ exit: 0, errors: "" });
    const result = JSON.parse(output.trim()) as { name: string; abi: number; crc: number; path: string; lock: string; second: string; pid: number };
    expect(result.lock).toBe("flock");
    expect(result.second).toContain(`is in use by another Runnel process (pid ${result.pid})`);
    expect(result.name).toBe("native");
    expect(result.abi).toBe(expectedAbiVersion);
    expect(result.crc).toBe(0xe3069283);
    expect(result.path.startsWith("/$bunfs/")).toBe(true);
  },
  60_000,
);

// `bun run build` → dist/runnel: the whole of Runnel in one file. Copied alone into an empty
// directory and run with an environment that has no Bun on its PATH and no node_modules around,
// it starts a broker there, serves the web console, kcat round-trips records through it (compressed
// with each codec, so the embedded snappy/lz4 addons load), and every client command answers,
// --help included.
test.skipIf(!libraryBuilt || fallbackRun)(
  "dist/runnel runs every command from an empty directory without Bun or node_modules",
  async () => {
    const build = Bun.spawnSync([process.execPath, "run", "build"], { cwd: repositoryRoot, stdout: "pipe", stderr: "pipe" });
    expect({ exit: build.exitCode, stderr: build.stderr.toString().slice(-2000) }).toEqual({ exit: 0, stderr: expect.any(String) });
    const directory = join(workDirectory, "alone");
    mkdirSync(directory);
    const binary = join(directory, "runnel");
    copyFileSync(join(repositoryRoot, "dist", "runnel"), binary);
    chmodSync(binary, 0o755);
    // Nothing on the PATH at all (Bun lives in /usr/bin on this machine class).
    mkdirSync(join(directory, "empty-path"));
    const environment = { PATH: join(directory, "empty-path"), HOME: directory };
    expect(Bun.spawnSync(["/bin/sh", "-c", "command -v bun"], { env: environment }).exitCode).not.toBe(0);

    const runnel = (args: string[], stdin?: string) => {
      const result = Bun.spawnSync([binary, ...args], { cwd: directory, env: environment, stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
      return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
    };
    const broker = spawnLines([binary, "start", "--kafka-port", "0", "--http-port", "0"], { cwd: directory, env: { ...environment, RUNNEL_LOG_LEVEL: "warn" } });
    try {
      const line = await broker.waitForLine((text) => text.startsWith("kafka listening on "));
      const bootstrap = line.slice("kafka listening on ".length);
      expect(existsSync(join(directory, "data", "meta.properties"))).toBe(true); // default ./data, in the empty directory
      // The web console is inside the binary: page, bundled client and benchmark reports, with no
      // Bun on the PATH to bundle anything at run time.
      const http = `http://${(await broker.waitForLine((text) => text.startsWith("http listening on "))).slice("http listening on ".length)}`;
      const page = await fetch(`${http}/ui`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('src="/ui/app.js"');
      const script = await fetch(`${http}/ui/app.js`);
      expect({ status: script.status, type: script.headers.get("content-type") }).toEqual({ status: 200, type: "text/javascript; charset=utf-8" });
      expect(await script.text()).toContain("EventSource");
      expect(Object.keys(((await (await fetch(`${http}/ui/bench.json`)).json()) as { files: Record<string, string> }).files)).toContain("summary.md");

      expect(runnel(["topics", "create", "single", "--partitions", "2", "-b", bootstrap]).code).toBe(0);
      for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
        const kcat = Bun.spawnSync(["kcat", "-b", bootstrap, "-P", "-t", "single", "-p", "0", "-z", codec], { stdin: new TextEncoder().encode(`kcat-${codec}\n`) });
        expect(kcat.exitCode).toBe(0);
        expect(runnel(["produce", "single", "-p", "1", "-z", codec, "-b", bootstrap], `runnel-${codec}\n`).code).toBe(0);
      }
      const viaKcat = Bun.spawnSync(["kcat", "-b", bootstrap, "-C", "-t", "single", "-p", "1", "-o", "beginning", "-e", "-q"]);
      expect(viaKcat.stdout.toString()).toBe("runnel-gzip\nrunnel-snappy\nrunnel-lz4\nrunnel-zstd\n");
      expect(runnel(["consume", "single", "-p", "0", "-o", "beginning", "-e", "-b", bootstrap]).stdout).toBe("kcat-gzip\nkcat-snappy\nkcat-lz4\nkcat-zstd\n");
      expect(runnel(["consume", "single", "-G", "g", "-o", "beginning", "-e", "-b", bootstrap]).stdout.split("\n").length).toBe(9);
      expect(runnel(["groups", "describe", "g", "-b", bootstrap]).stdout).toContain("single");
      expect(runnel(["topics", "describe", "single", "-b", bootstrap]).stdout).toContain("Partitions: 2");
      expect(runnel(["cluster", "-b", bootstrap]).stdout).toContain("Controller: 1");
      expect(runnel(["bench", "-n", "1000", "-b", bootstrap]).code).toBe(0);
      expect(runnel(["version"]).stdout).toMatch(/^runnel \d+\.\d+\.\d+ \(bun 1\.4\.4, native helper\)/);
      for (const command of [["start"], ["topics", "list"], ["groups", "reset-offsets"], ["produce"], ["consume"], ["cluster"], ["bench"], ["version"]]) {
        expect({ command, code: runnel([...command, "--help"]).code }).toEqual({ command, code: 0 });
      }
    } finally {
      broker.process.kill("SIGTERM");
      expect(await broker.exited).toBe(0);
    }
  },
  90_000,
);
