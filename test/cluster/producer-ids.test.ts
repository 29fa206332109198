import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProducerIdAllocator } from "../../src/cluster/producer-ids.ts";

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
  expect(readFileSync(join(dir, "__cluster_metadata", "producer-ids"), "utf8").trim()).toBe("30");
  // A restart (or crash) skips the rest of the reserved block.
  const second = await ProducerIdAllocator.open(dir, 10n);
  expect(await second.allocate()).toBe(30n);
});

test("a damaged high-water file is refused, not silently reset to 0", async () => {
  const dir = tempDir();
  const allocator = await ProducerIdAllocator.open(dir);
  await allocator.allocate();
  writeFileSync(join(dir, "__cluster_metadata", "producer-ids"), "garbage");
  await expect(ProducerIdAllocator.open(dir)).rejects.toThrow(/not a producer id high-water mark/);
});
