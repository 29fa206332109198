import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProducerIdAllocator, producerIdBlockSize } from "../../src/cluster/producer-ids.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "runnel-pid-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test("ids increase, are unique under concurrency, and never repeat after a reopen", async () => {
  const dir = tempDir();
  const first = await ProducerIdAllocator.open(dir, 10n);
  const ids = await Promise.all(Array.from({ length: 25 }, () => first.allocate()));
  expect(ids).toEqual(Array.from({ length: 25 }, (_, index) => BigInt(index)));
  expect(readFileSync(join(dir, "__cluster_metadata", "producer-ids"), "utf8")).toMatch(/^30\n# crc32c=[0-9a-f]{8}\n$/);
  // A restart (or crash) skips the rest of the reserved block.
  const second = await ProducerIdAllocator.open(dir, 10n);
  expect(await second.allocate()).toBe(30n);
});

test("a damaged high-water file: the mirror is used; both damaged: a clock floor, never a reset to 0", async () => {
  const dir = tempDir();
  const allocator = await ProducerIdAllocator.open(dir);
  const first = await allocator.allocate();
  const path = join(dir, "__cluster_metadata", "producer-ids");
  writeFileSync(path, "garbage");
  // The mirror still holds the block end: ids continue after the reserved block, as after a restart.
  const fromMirror = await ProducerIdAllocator.open(dir);
  expect(await fromMirror.allocate()).toBe(first + producerIdBlockSize);
  writeFileSync(path, "1\n# crc32c=00000000\n"); // a checksum that does not match: a flipped digit
  writeFileSync(`${path}.mirror`, "");
  const before = BigInt(Date.now()) * 1000n;
  const fromFloor = await ProducerIdAllocator.open(dir);
  expect(await fromFloor.allocate()).toBeGreaterThanOrEqual(before);
});
