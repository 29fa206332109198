// One conformance suite for both implementations of NativeApi: the C library (src/native/ffi.ts)
// and the pure-TypeScript fallback (src/native/fallback.ts). Cross-checks compare them with each
// other and with kafkajs's own CRC-32C (an independent implementation of what Kafka clients write).
//
// The library is (re)built first when a compiler exists and the source is newer than the build,
// so the suite never tests a stale .so. index.ts is not imported before that on purpose: it loads
// the library at import time.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildNative } from "../../scripts/build-native.ts";
import { AssertionError } from "../../src/util/assert.ts";
import { fallback } from "../../src/native/fallback.ts";
import { builtLibraryPath, expectedAbiVersion, loadNativeLibrary, type NativeLibrary } from "../../src/native/ffi.ts";
import type { NativeApi } from "../../src/native/types.ts";

const compilerPresent = ["gcc", "cc", "clang"].some((name) => Bun.which(name) !== null);
if (compilerPresent) buildNative({ ifStale: true });

let nativeLibrary: NativeLibrary | null = null;
let nativeMissingReason = "";
try {
  nativeLibrary = loadNativeLibrary(builtLibraryPath);
} catch (error) {
  nativeMissingReason = (error as Error).message;
}

const kafkajsCrc32c = createRequire(import.meta.url)("kafkajs/src/protocol/recordBatch/crc32C/index.js") as (
  data: Buffer,
) => number;

const scratchDirectory = mkdtempSync(join(tmpdir(), "runnel-native-test-"));
afterAll(() => rmSync(scratchDirectory, { recursive: true, force: true }));

let fileCounter = 0;
function scratchFile(contents: Uint8Array | number): { path: string; fd: number } {
  const path = join(scratchDirectory, `file-${fileCounter++}`);
  writeFileSync(path, typeof contents === "number" ? new Uint8Array(contents) : contents);
  return { path, fd: openSync(path, "r+") };
}

// A deterministic generator, so that a failure replays: xorshift32.
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

function randomBytes(next: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = next() & 0xff;
  return bytes;
}

const ascii = (text: string) => new TextEncoder().encode(text);

function offsetIndex(entries: Array<[number, number]>, spareEntries = 0): Uint8Array {
  const bytes = new Uint8Array((entries.length + spareEntries) * 8);
  const view = new DataView(bytes.buffer);
  entries.forEach(([relativeOffset, position], slot) => {
    view.setInt32(slot * 8, relativeOffset);
    view.setInt32(slot * 8 + 4, position);
  });
  return bytes;
}

function timeIndex(entries: Array<[bigint, number]>, spareEntries = 0): Uint8Array {
  const bytes = new Uint8Array((entries.length + spareEntries) * 12);
  const view = new DataView(bytes.buffer);
  entries.forEach(([timestamp, relativeOffset], slot) => {
    view.setBigInt64(slot * 12, timestamp);
    view.setInt32(slot * 12 + 8, relativeOffset);
  });
  return bytes;
}

function lastAtOrBelow<T>(keys: T[], target: T): number {
  let slot = -1;
  keys.forEach((key, index) => {
    if (key <= target) slot = index;
  });
  return slot;
}

// Without a compiler there is nothing to build (the fallback is what runs there): skipped, so the
// run shows it rather than counting a pass that checked nothing.
test.skipIf(!compilerPresent)("the native library is built and loads wherever a C compiler exists", () => {
  expect(nativeMissingReason).toBe("");
  expect(nativeLibrary).not.toBeNull();
  expect(nativeLibrary!.abiVersion).toBe(expectedAbiVersion);
});

const implementations: Array<[string, NativeApi | null]> = [
  ["native", nativeLibrary],
  ["fallback", fallback],
];

for (const [label, implementation] of implementations) {
  describe.skipIf(implementation === null)(`${label} NativeApi conformance`, () => {
    const api = implementation as NativeApi;

    describe("crc32c", () => {
      test("known vectors (Kafka RecordBatch v2 uses CRC-32C)", () => {
        expect(api.crc32c(ascii("123456789"))).toBe(0xe3069283);
        expect(api.crc32c(new Uint8Array(0))).toBe(0);
        // RFC 3720 (iSCSI) B.4 vectors.
        expect(api.crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
        expect(api.crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
        expect(api.crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
        expect(api.crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
        expect(api.crc32c(ascii("a"))).toBe(0xc1d04330);
      });

      test("an empty continuation returns the running crc unchanged", () => {
        expect(api.crc32c(new Uint8Array(0), 0xe3069283)).toBe(0xe3069283);
        expect(api.crc32c(new Uint8Array(0), 0xffffffff)).toBe(0xffffffff);
      });

      test("random buffers of every small length and a few large ones match kafkajs and each other", () => {
        const next = random(0xc0ffee);
        const lengths = [...Array.from({ length: 80 }, (_, i) => i), 255, 4096, 16 * 1024 + 3, 1024 * 1024 + 7];
        for (const length of lengths) {
          const data = randomBytes(next, length);
          const expected = kafkajsCrc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
          expect(api.crc32c(data)).toBe(expected);
          expect(fallback.crc32c(data)).toBe(expected);
          if (nativeLibrary) expect(nativeLibrary.crc32cTable(data)).toBe(expected);
        }
      });

      test("views at every alignment give the crc of their own bytes only", () => {
        const next = random(7);
        const backing = randomBytes(next, 300);
        for (let start = 0; start < 16; start++) {
          const view = backing.subarray(start, start + 200 + start);
          expect(api.crc32c(view)).toBe(fallback.crc32c(view.slice()));
        }
      });

      test("lengths and alignments around the native code's 3 x 512-byte stripe blocks", () => {
        const next = random(1536);
        const backing = randomBytes(next, 3 * 1536 + 64);
        for (const blocks of [1, 2, 3]) {
          for (let extra = -9; extra <= 9; extra++) {
            for (const start of [0, 1, 5, 8]) {
              const view = backing.subarray(start, start + blocks * 1536 + extra);
              expect(api.crc32c(view)).toBe(kafkajsCrc32c(Buffer.from(view)));
            }
          }
        }
      });

      test("chained continuation equals one pass over the concatenation", () => {
        const next = random(99);
        for (let round = 0; round < 50; round++) {
          const data = randomBytes(next, 1 + (next() % 3000));
          const whole = api.crc32c(data);
          const cut = next() % (data.length + 1);
          expect(api.crc32c(data.subarray(cut), api.crc32c(data.subarray(0, cut)))).toBe(whole);
          // Three pieces, the middle one possibly empty.
          const cut2 = cut + (next() % (data.length - cut + 1));
          const first = api.crc32c(data.subarray(0, cut));
          const second = api.crc32c(data.subarray(cut, cut2), first);
          expect(api.crc32c(data.subarray(cut2), second)).toBe(whole);
        }
      });

      test("refuses a crc that is not a uint32", () => {
        expect(() => api.crc32c(ascii("x"), -1)).toThrow(AssertionError);
        expect(() => api.crc32c(ascii("x"), 2 ** 32)).toThrow(AssertionError);
      });
    });

    describe("offsetIndexLookup", () => {
      const entries: Array<[number, number]> = [
        [0, 0],
        [10, 4096],
        [25, 8192],
        [26, 12288],
        [1000, 65536],
      ];
      const index = offsetIndex(entries, 3); // spare zeroed slots past `entries` must be ignored

      test("empty index finds nothing", () => {
        expect(api.offsetIndexLookup(new Uint8Array(0), 0, 5)).toBe(-1);
        expect(api.offsetIndexLookup(index, 0, 5)).toBe(-1);
      });

      test("below, at, between and past the entries", () => {
        expect(api.offsetIndexLookup(index, 5, -1)).toBe(-1);
        expect(api.offsetIndexLookup(index, 5, 0)).toBe(0);
        expect(api.offsetIndexLookup(index, 5, 9)).toBe(0);
        expect(api.offsetIndexLookup(index, 5, 10)).toBe(1);
        expect(api.offsetIndexLookup(index, 5, 25)).toBe(2);
        expect(api.offsetIndexLookup(index, 5, 26)).toBe(3);
        expect(api.offsetIndexLookup(index, 5, 999)).toBe(3);
        expect(api.offsetIndexLookup(index, 5, 1000)).toBe(4);
        expect(api.offsetIndexLookup(index, 5, 0x7fffffff)).toBe(4);
        expect(api.offsetIndexLookup(index, 1, 500)).toBe(0);
      });

      test("a view that starts inside a larger buffer", () => {
        const backing = new Uint8Array(index.length + 5);
        backing.set(index, 5);
        expect(api.offsetIndexLookup(backing.subarray(5), 5, 30)).toBe(3);
      });

      test("random indexes agree with a linear scan", () => {
        const next = random(1234);
        for (let round = 0; round < 40; round++) {
          const count = next() % 200;
          let key = next() % 5;
          const keys: number[] = [];
          for (let i = 0; i < count; i++) {
            keys.push(key);
            key += 1 + (next() % 50);
          }
          const bytes = offsetIndex(keys.map((k, i) => [k, i * 100]));
          for (let probe = 0; probe < 20; probe++) {
            const target = (next() % (key + 10)) - 5;
            expect(api.offsetIndexLookup(bytes, count, target)).toBe(lastAtOrBelow(keys, target));
          }
        }
      });

      test("refuses more entries than the buffer holds", () => {
        expect(() => api.offsetIndexLookup(index, 9, 0)).toThrow(AssertionError);
        expect(() => api.offsetIndexLookup(index, -1, 0)).toThrow(AssertionError);
        expect(() => api.offsetIndexLookup(index, 5, 2 ** 31)).toThrow(AssertionError);
      });
    });

    describe("timeIndexLookup", () => {
      const entries: Array<[bigint, number]> = [
        [-5n, 0],
        [1_700_000_000_000n, 3],
        [1_700_000_000_000n, 4],
        [1_700_000_000_500n, 9],
        [2n ** 41n, 20],
      ];
      const index = timeIndex(entries, 2);

      test("empty index finds nothing", () => {
        expect(api.timeIndexLookup(new Uint8Array(0), 0, 0n)).toBe(-1);
        expect(api.timeIndexLookup(index, 0, 2n ** 50n)).toBe(-1);
      });

      test("below, at, between and past the entries; equal timestamps give the last", () => {
        expect(api.timeIndexLookup(index, 5, -6n)).toBe(-1);
        expect(api.timeIndexLookup(index, 5, -(2n ** 63n))).toBe(-1);
        expect(api.timeIndexLookup(index, 5, -5n)).toBe(0);
        expect(api.timeIndexLookup(index, 5, 0n)).toBe(0);
        expect(api.timeIndexLookup(index, 5, 1_700_000_000_000n)).toBe(2);
        expect(api.timeIndexLookup(index, 5, 1_700_000_000_499n)).toBe(2);
        expect(api.timeIndexLookup(index, 5, 1_700_000_000_500n)).toBe(3);
        expect(api.timeIndexLookup(index, 5, 2n ** 41n)).toBe(4);
        expect(api.timeIndexLookup(index, 5, 2n ** 63n - 1n)).toBe(4);
      });

      test("random indexes agree with a linear scan", () => {
        const next = random(4321);
        for (let round = 0; round < 40; round++) {
          const count = next() % 150;
          let key = 1_600_000_000_000n + BigInt(next() % 1000);
          const keys: bigint[] = [];
          for (let i = 0; i < count; i++) {
            keys.push(key);
            key += BigInt(next() % 3) * BigInt(1 + (next() % 2 ** 20)); // steps of 0 allowed
          }
          const bytes = timeIndex(keys.map((k, i) => [k, i]));
          for (let probe = 0; probe < 20; probe++) {
            const target = 1_600_000_000_000n + BigInt(next()) * 4n - 1000n;
            expect(api.timeIndexLookup(bytes, count, target)).toBe(lastAtOrBelow(keys, target));
          }
        }
      });

      test("refuses bad arguments", () => {
        expect(() => api.timeIndexLookup(index, 8, 0n)).toThrow(AssertionError);
        expect(() => api.timeIndexLookup(index, 5, 2n ** 63n)).toThrow(AssertionError);
      });
    });

    describe("fallocate", () => {
      test("keepSize keeps the file size; without it the file grows to cover the range", () => {
        const { fd } = scratchFile(ascii("hello"));
        try {
          api.fallocate(fd, 0, 1 << 20, true);
          expect(fstatSync(fd).size).toBe(5);
          api.fallocate(fd, 4096, 8192, false);
          expect(fstatSync(fd).size).toBe(4096 + 8192);
          api.fallocate(fd, 0, 100, false); // inside the file: size unchanged, data kept
          expect(fstatSync(fd).size).toBe(4096 + 8192);
          const contents = readFileSync(`/proc/self/fd/${fd}`);
          expect(contents.subarray(0, 5).toString()).toBe("hello");
          expect(contents.subarray(5).every((byte) => byte === 0)).toBe(true);
        } finally {
          closeSync(fd);
        }
      });

      test("a range far beyond the free space fails with an errno-coded Error and changes nothing", () => {
        const { fd } = scratchFile(ascii("data"));
        try {
          // 2^52 bytes (4 PiB): more than any disk here; ext4 answers EFBIG, others ENOSPC.
          let thrown: unknown;
          try {
            api.fallocate(fd, 0, 2 ** 52, false);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(Error);
          expect(["ENOSPC", "EFBIG"]).toContain((thrown as { code: string }).code);
          expect((thrown as { syscall: string }).syscall).toBe("fallocate");
          expect(fstatSync(fd).size).toBe(4);
        } finally {
          closeSync(fd);
        }
      });

      test("a closed descriptor is an EBADF-coded Error", () => {
        const { fd } = scratchFile(1);
        closeSync(fd);
        expect(() => api.fallocate(fd, 0, 10, false)).toThrow(expect.objectContaining({ code: "EBADF" }));
      });

      test("refuses zero and negative lengths", () => {
        const { fd } = scratchFile(1);
        try {
          expect(() => api.fallocate(fd, 0, 0, false)).toThrow(AssertionError);
          expect(() => api.fallocate(fd, -1, 10, false)).toThrow(AssertionError);
        } finally {
          closeSync(fd);
        }
      });
    });

    describe("memory mappings", () => {
      test.skipIf(api.canMap)("map is refused with a clear error when canMap is false", () => {
        const { fd } = scratchFile(4096);
        try {
          expect(() => api.map(fd, 4096, true)).toThrow(/not available/);
        } finally {
          closeSync(fd);
        }
      });

      test.skipIf(!api.canMap)("writes through a writable mapping land in the file", () => {
        const length = 3 * 4096 + 100; // not a whole number of pages
        const { path, fd } = scratchFile(length);
        try {
          const region = api.map(fd, length, true);
          expect(region.length).toBe(length);
          expect(region.writable).toBe(true);
          expect(region.bytes.length).toBe(length);
          region.bytes.set(ascii("runnel"), 0);
          region.bytes[length - 1] = 0x7f;
          region.bytes.set(ascii("middle"), 5000);
          api.msync(region, 5000, 6); // unaligned range: rounded to pages inside
          api.msync(region, 0, length);
          const onDisk = readFileSync(path);
          expect(onDisk.subarray(0, 6).toString()).toBe("runnel");
          expect(onDisk.subarray(5000, 5006).toString()).toBe("middle");
          expect(onDisk[length - 1]).toBe(0x7f);
          for (const advice of ["normal", "sequential", "random", "willneed", "dontneed"] as const) {
            api.madvise(region, 4097, 4096, advice);
          }
          // After dontneed on a shared mapping, pages come back from the file.
          expect(Buffer.from(region.bytes.subarray(5000, 5006)).toString()).toBe("middle");
          api.unmap(region);
        } finally {
          closeSync(fd);
        }
      });

      test.skipIf(!api.canMap)("a read-only mapping sees what was written to the file", () => {
        const contents = randomBytes(random(5), 10_000);
        const { fd } = scratchFile(contents);
        try {
          const region = api.map(fd, contents.length, false);
          expect(region.writable).toBe(false);
          expect(api.crc32c(region.bytes)).toBe(api.crc32c(contents));
          expect(api.crc32c(region.bytes.subarray(123, 4567))).toBe(api.crc32c(contents.subarray(123, 4567)));
          api.unmap(region);
        } finally {
          closeSync(fd);
        }
      });

      test.skipIf(!api.canMap)("index lookups work on views of a mapped index file", () => {
        const keys = Array.from({ length: 500 }, (_, slot) => slot * 3);
        const index = offsetIndex(keys.map((key, slot) => [key, slot * 4096]), 12); // zeroed tail, as preallocated
        const { fd } = scratchFile(index);
        try {
          const region = api.map(fd, index.length, false);
          for (const target of [-1, 0, 1, 299, 300, 1497, 1498, 5000]) {
            expect(api.offsetIndexLookup(region.bytes, keys.length, target)).toBe(lastAtOrBelow(keys, target));
          }
          expect(api.offsetIndexLookup(region.bytes.subarray(8 * 100), 400, 300)).toBe(0);
          api.unmap(region);
        } finally {
          closeSync(fd);
        }
      });

      test.skipIf(!api.canMap)("unmap detaches every view, and a second unmap is refused", () => {
        const { fd } = scratchFile(8192);
        try {
          const region = api.map(fd, 8192, true);
          const view = region.bytes.subarray(100, 200);
          const nodeBuffer = Buffer.from(region.bytes.buffer, 4096, 10);
          api.unmap(region);
          expect(region.bytes.length).toBe(0);
          expect(view.length).toBe(0);
          expect(nodeBuffer.length).toBe(0);
          expect(view[0]).toBeUndefined(); // no access to the unmapped pages
          expect(() => api.unmap(region)).toThrow(AssertionError);
          expect(() => api.msync(region, 0, 1)).toThrow(AssertionError);
        } finally {
          closeSync(fd);
        }
      });

      test.skipIf(!api.canMap)("mapping past the end of file is refused (it would SIGBUS)", () => {
        const { fd } = scratchFile(4096);
        try {
          expect(() => api.map(fd, 8192, true)).toThrow(expect.objectContaining({ code: "EINVAL" }));
          api.fallocate(fd, 0, 8192, false); // the documented remedy
          const region = api.map(fd, 8192, true);
          region.bytes[8191] = 1;
          api.unmap(region);
        } finally {
          closeSync(fd);
        }
      });

      test.skipIf(!api.canMap)("ranges outside the mapping are refused", () => {
        const { fd } = scratchFile(4096);
        try {
          const region = api.map(fd, 4096, false);
          expect(() => api.msync(region, 4000, 97)).toThrow(AssertionError);
          expect(() => api.madvise(region, 0, 4097, "random")).toThrow(AssertionError);
          api.unmap(region);
        } finally {
          closeSync(fd);
        }
      });
    });
  });
}

// A real full disk: a 1 MiB tmpfs, mountable only as root. Skipped elsewhere.
function mountSmallTmpfs(): string | null {
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !Bun.which("mount")) return null;
  const directory = mkdtempSync(join(tmpdir(), "runnel-native-enospc-"));
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", directory], { stderr: "pipe" });
  if (mounted.success) return directory;
  rmSync(directory, { recursive: true, force: true });
  return null;
}

const smallFileSystem = mountSmallTmpfs();

describe.skipIf(smallFileSystem === null)("fallocate on a full 1 MiB file system (root only)", () => {
  afterAll(() => {
    if (!smallFileSystem) return;
    Bun.spawnSync(["umount", smallFileSystem]);
    rmSync(smallFileSystem, { recursive: true, force: true });
  });

  for (const [label, implementation] of implementations) {
    test.skipIf(implementation === null)(`${label}: ENOSPC-coded Error, file unchanged`, () => {
      const api = implementation as NativeApi;
      const path = join(smallFileSystem!, `${label}.log`);
      writeFileSync(path, ascii("abc"));
      const fd = openSync(path, "r+");
      try {
        for (const keepSize of [true, false]) {
          expect(() => api.fallocate(fd, 0, 4 << 20, keepSize)).toThrow(
            expect.objectContaining({ code: "ENOSPC", syscall: "fallocate" }),
          );
          expect(fstatSync(fd).size).toBe(3);
        }
        api.fallocate(fd, 0, 64 * 1024, false); // what fits still works
        expect(fstatSync(fd).size).toBe(64 * 1024);
      } finally {
        closeSync(fd);
        rmSync(path);
      }
    });
  }
});

describe("selection by RUNNEL_NATIVE", () => {
  const repositoryRoot = join(import.meta.dir, "..", "..");
  async function chosenName(mode: string, extra: Record<string, string> = {}) {
    const child = Bun.spawn(
      [process.execPath, "-e", 'const { native } = await import("./src/native/index.ts"); console.log(native.name)'],
      { cwd: repositoryRoot, env: { ...process.env, RUNNEL_LOG_LEVEL: "warn", RUNNEL_NATIVE: mode, ...extra }, stdout: "pipe", stderr: "pipe" },
    );
    const [name, errors, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { name: name.trim(), code, errors };
  }

  test.skipIf(!compilerPresent)("a library of another ABI version is refused: fallback with a warning, or an error under RUNNEL_NATIVE=1", async () => {
    const source = join(scratchDirectory, "other-abi.c");
    const library = join(scratchDirectory, "librunnel-other-abi.so");
    writeFileSync(source, "unsigned int runnel_abi_version(void) { return 999; }\n");
    const compiler = ["gcc", "cc", "clang"].map((name) => Bun.which(name)).find((found) => found !== null)!;
    expect(Bun.spawnSync([compiler, "-shared", "-fPIC", "-o", library, source]).success).toBe(true);
    const automatic = await chosenName("auto", { RUNNEL_NATIVE_LIBRARY: library });
    expect(automatic.name).toBe("fallback");
    expect(automatic.errors).toContain("ABI version 999");
    const required = await chosenName("1", { RUNNEL_NATIVE_LIBRARY: library });
    expect(required.code).not.toBe(0);
    expect(required.errors).toContain("bun run build:native");
  });

  test("a missing library file means the fallback", async () => {
    const missing = await chosenName("auto", { RUNNEL_NATIVE_LIBRARY: join(scratchDirectory, "absent.so") });
    expect({ name: missing.name, code: missing.code }).toEqual({ name: "fallback", code: 0 });
  });

  test("the build script without any C compiler prints why and exits 0", () => {
    const result = Bun.spawnSync([process.execPath, join(repositoryRoot, "scripts", "build-native.ts")], {
      env: { ...process.env, PATH: join(scratchDirectory, "no-such-bin"), CC: "" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toContain("no C compiler found");
  });

  test.skipIf(Bun.which("false") === null)("a compiler that fails: exit 1 from build:native, exit 0 during bun install; the built library is untouched", () => {
    const before = compilerPresent ? statSync(builtLibraryPath).mtimeMs : 0;
    const script = join(repositoryRoot, "scripts", "build-native.ts");
    const direct = Bun.spawnSync([process.execPath, script], { env: { ...process.env, CC: "false", npm_lifecycle_event: "" }, stdout: "pipe", stderr: "pipe" });
    expect(direct.exitCode).toBe(1);
    expect(direct.stderr.toString()).toContain("FAILED");
    const install = Bun.spawnSync([process.execPath, script], { env: { ...process.env, CC: "false", npm_lifecycle_event: "postinstall" }, stdout: "pipe", stderr: "pipe" });
    expect(install.exitCode).toBe(0);
    if (compilerPresent) expect(statSync(builtLibraryPath).mtimeMs).toBe(before);
  });

  test("RUNNEL_NATIVE=0 forces the fallback", async () => {
    expect(await chosenName("0")).toMatchObject({ name: "fallback", code: 0 });
  });

  test.skipIf(nativeLibrary === null)("by default the native library is chosen when it loads", async () => {
    expect(await chosenName("auto")).toMatchObject({ name: "native", code: 0 });
  });
});

describe.skipIf(nativeLibrary === null)("native extras", () => {
  test("reports which CRC path the CPU takes, and the table path agrees", () => {
    const library = nativeLibrary!;
    const hasSse42 = process.arch === "x64" && /\bsse4_2\b/.test(readFileSync("/proc/cpuinfo", "utf8"));
    expect(library.crcHardware).toBe(hasSse42);
    expect(library.crc32cTable(ascii("123456789"))).toBe(0xe3069283);
    expect(library.noop(42)).toBe(42);
  });
});

beforeAll(() => {
  if (!nativeLibrary) console.warn(`native conformance skipped: ${nativeMissingReason || "library not built"}`);
});
