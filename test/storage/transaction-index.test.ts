// The `.txnindex` file of one segment (src/storage/transaction-index.ts): Kafka's 34-byte entries,
// appended in marker order, read back, searched as Kafka's collectAbortedTxns does, truncated, and
// checked at load (torn last entry, marker past the segment's end, missing file).

import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRealFs } from "../../src/storage/fs.ts";
import { TransactionIndex, decodeTransactionIndex, transactionIndexEntryBytes } from "../../src/storage/transaction-index.ts";
import type { AbortedTransactionEntry } from "../../src/storage/types.ts";

const fs = createRealFs();
let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), "runnel-txnindex-"));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const path = () => join(directory, "00000000000000000100.txnindex");
const entry = (producerId: bigint, firstOffset: bigint, lastOffset: bigint): AbortedTransactionEntry => ({ producerId, firstOffset, lastOffset, lastStableOffset: lastOffset + 1n });
const plain = ({ producerId, firstOffset, lastOffset }: AbortedTransactionEntry) => ({ producerId, firstOffset, lastOffset });

/** Append entries the way the log does: each descriptor is synced and closed by its group commit. */
function appendAll(index: TransactionIndex, entries: AbortedTransactionEntry[]): void {
  for (const one of entries) fs.close(index.append(one));
}

test("an entry is 34 bytes laid out as Kafka's AbortedTxn (version 0, producer id, first, last, LSO)", () => {
  const index = new TransactionIndex(fs, path(), 100n);
  appendAll(index, [{ producerId: 0x0102030405060708n, firstOffset: 90n, lastOffset: 105n, lastStableOffset: 95n }]);
  const bytes = readFileSync(path());
  expect(bytes.length).toBe(transactionIndexEntryBytes);
  expect(transactionIndexEntryBytes).toBe(34);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getInt16(0)).toBe(0);
  expect(view.getBigInt64(2)).toBe(0x0102030405060708n);
  expect(view.getBigInt64(10)).toBe(90n);
  expect(view.getBigInt64(18)).toBe(105n);
  expect(view.getBigInt64(26)).toBe(95n);
});

test("appended entries are read back in order, and survive a reload", () => {
  const index = new TransactionIndex(fs, path(), 100n);
  const entries = [entry(1n, 95n, 101n), entry(2n, 100n, 110n), entry(1n, 111n, 120n)];
  appendAll(index, entries);
  expect(index.entries()).toEqual(entries);
  const again = new TransactionIndex(fs, path(), 100n);
  expect(again.load(130n)).toBeNull();
  expect(again.entryCount).toBe(3);
  expect(again.entries()).toEqual(entries);
  // Out-of-order appends are a bug of the caller.
  expect(() => again.append(entry(3n, 100n, 120n))).toThrow();
});

test("collect answers Kafka's collectAbortedTxns: marker >= fetch offset, first offset < upper bound", () => {
  const index = new TransactionIndex(fs, path(), 100n);
  appendAll(index, [entry(1n, 95n, 101n), entry(2n, 100n, 110n), entry(3n, 112n, 120n), entry(4n, 125n, 130n)]);
  const search = (fetchOffset: bigint, upperBound: bigint) => {
    const found: { producerId: bigint }[] = [];
    const complete = index.collect(fetchOffset, upperBound, found as never);
    return { producers: found.map((one) => one.producerId), complete };
  };
  expect(search(0n, 200n)).toEqual({ producers: [1n, 2n, 3n, 4n], complete: false });
  expect(search(102n, 115n)).toEqual({ producers: [2n, 3n], complete: true });
  expect(search(111n, 112n)).toEqual({ producers: [], complete: true });
  expect(search(131n, 200n)).toEqual({ producers: [], complete: false });
});

test("truncation removes the entries whose marker is at or after the offset and returns them", () => {
  const index = new TransactionIndex(fs, path(), 100n);
  appendAll(index, [entry(1n, 95n, 101n), entry(2n, 100n, 110n), entry(3n, 112n, 120n)]);
  expect(index.truncateTo(110n).map(plain)).toEqual([plain(entry(2n, 100n, 110n)), plain(entry(3n, 112n, 120n))]);
  expect(readFileSync(path()).length).toBe(transactionIndexEntryBytes);
  expect(index.entries()).toEqual([entry(1n, 95n, 101n)]);
  expect(index.truncateTo(500n)).toEqual([]);
  // Appends continue after the kept entries.
  appendAll(index, [entry(5n, 103n, 104n)]);
  expect(index.entries().map((one) => one.producerId)).toEqual([1n, 5n]);
  // Nothing left: the file goes.
  index.truncateTo(100n);
  expect(existsSync(path())).toBe(false);
  expect(index.entryCount).toBe(0);
});

test("load reports a torn last entry, a marker past the segment's end and a missing file; the good prefix is kept", () => {
  const index = new TransactionIndex(fs, path(), 100n);
  appendAll(index, [entry(1n, 95n, 101n), entry(2n, 100n, 110n)]);
  // A crash in the middle of the second append.
  truncateSync(path(), transactionIndexEntryBytes + 20);
  const torn = new TransactionIndex(fs, path(), 100n);
  expect(torn.load(200n)).toContain("torn");
  expect(torn.entryCount).toBe(1);
  expect(torn.entries()).toEqual([entry(1n, 95n, 101n)]);
  // The next append overwrites the torn bytes.
  appendAll(torn, [entry(3n, 102n, 105n)]);
  expect(decodeTransactionIndex(readFileSync(path()), 100n, 200n)).toEqual({ entries: [entry(1n, 95n, 101n), entry(3n, 102n, 105n)], problem: null });
  // The segment ends at 103: the second entry's marker (105) is past it (the log was cut).
  expect(new TransactionIndex(fs, path(), 100n).load(103n)).toContain("outside");
  // Garbage: a bad version.
  writeFileSync(path(), new Uint8Array(transactionIndexEntryBytes).fill(0xff));
  expect(new TransactionIndex(fs, path(), 100n).load(200n)).toContain("version");
  rmSync(path());
  expect(new TransactionIndex(fs, path(), 100n).load(200n)).toBe("missing");
});

test("rewrite replaces the whole file (recovery's rebuild); an empty index has no file to read", () => {
  const index = new TransactionIndex(fs, path(), 100n);
  expect(index.entries()).toEqual([]);
  appendAll(index, [entry(1n, 95n, 101n), entry(2n, 100n, 110n)]);
  fs.close(index.rewrite([entry(7n, 100n, 102n)]));
  expect(readFileSync(path()).length).toBe(transactionIndexEntryBytes);
  expect(index.entries()).toEqual([entry(7n, 100n, 102n)]);
  // A stale file of an earlier segment with this base offset is overwritten by the first append.
  const fresh = new TransactionIndex(fs, path(), 100n);
  appendAll(fresh, [entry(9n, 100n, 100n)]);
  expect(fresh.entries()).toEqual([entry(9n, 100n, 100n)]);
  expect(readFileSync(path()).length).toBe(transactionIndexEntryBytes);
});
