// The power-loss model itself (src/testing/power-loss.ts): the power-loss tests of the log are only
// as good as this model, so its rules are checked here on plain files.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PowerLossModel } from "../../src/testing/power-loss.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "runnel-power-model-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const read = (path: string) => readFileSync(path, "utf8");

describe("power-loss model", () => {
  test("files present at start are durable; unsynced appends are lost", () => {
    const path = join(root, "a.log");
    writeFileSync(path, "durable");
    const model = new PowerLossModel(root);
    appendFileSync(path, "-lost");
    const report = model.crash();
    expect(read(path)).toBe("durable");
    expect(report.rewritten[0]?.lostBytes).toBe(5);
  });

  test("a file created and never synced is gone; a synced one keeps its synced bytes", () => {
    const model = new PowerLossModel(root);
    writeFileSync(join(root, "never.log"), "x");
    writeFileSync(join(root, "synced.log"), "abc");
    model.beginDatasync(join(root, "synced.log"))();
    appendFileSync(join(root, "synced.log"), "def");
    model.crash();
    expect(existsSync(join(root, "never.log"))).toBe(false);
    expect(read(join(root, "synced.log"))).toBe("abc");
  });

  test("the snapshot is taken when the sync starts: writes during the sync are not covered", () => {
    const path = join(root, "a.log");
    const model = new PowerLossModel(root);
    writeFileSync(path, "one");
    const commit = model.beginDatasync(path);
    appendFileSync(path, "two");
    commit();
    model.crash();
    expect(read(path)).toBe("one");
  });

  test("a sync that completes after the crash counts for nothing", () => {
    const path = join(root, "a.log");
    writeFileSync(path, "one");
    const model = new PowerLossModel(root);
    appendFileSync(path, "two");
    const commit = model.beginDatasync(path);
    model.crash();
    commit();
    expect(read(path)).toBe("one");
  });

  test("torn writes keep a prefix of the unsynced bytes; zero tails keep zeros; durable bytes never change", () => {
    for (let seed = 1; seed <= 40; seed++) {
      for (const tear of ["prefix", "zeros"] as const) {
        const path = join(root, `t-${seed}-${tear}.log`);
        writeFileSync(path, "durable:");
        const model = new PowerLossModel(root);
        appendFileSync(path, "0123456789");
        model.crash({ tear, seed });
        const after = readFileSync(path);
        expect(after.length).toBeGreaterThanOrEqual(8);
        expect(after.length).toBeLessThanOrEqual(18);
        expect(after.subarray(0, 8).toString()).toBe("durable:");
        const tail = after.subarray(8);
        if (tear === "prefix") expect(tail.toString()).toBe("0123456789".slice(0, tail.length));
        else expect([...tail].every((byte) => byte === 0)).toBe(true);
        rmSync(path);
      }
    }
  });

  test("unlink and rename are undone unless the directory was fsynced", () => {
    writeFileSync(join(root, "gone.log"), "g");
    writeFileSync(join(root, "old.name"), "r");
    const model = new PowerLossModel(root);
    unlinkSync(join(root, "gone.log"));
    model.unlinked(join(root, "gone.log"));
    renameSync(join(root, "old.name"), join(root, "new.name"));
    model.renamed(join(root, "old.name"), join(root, "new.name"));
    const report = model.crash();
    expect(read(join(root, "gone.log"))).toBe("g");
    expect(read(join(root, "old.name"))).toBe("r");
    expect(existsSync(join(root, "new.name"))).toBe(false);
    expect(report.restored.length).toBe(2);
  });

  test("after a directory fsync, unlink and rename survive the crash", () => {
    writeFileSync(join(root, "gone.log"), "g");
    writeFileSync(join(root, "old.name"), "r");
    const model = new PowerLossModel(root);
    unlinkSync(join(root, "gone.log"));
    model.unlinked(join(root, "gone.log"));
    renameSync(join(root, "old.name"), join(root, "new.name"));
    model.renamed(join(root, "old.name"), join(root, "new.name"));
    model.fsyncDirectory(root);
    model.crash();
    expect(existsSync(join(root, "gone.log"))).toBe(false);
    expect(existsSync(join(root, "old.name"))).toBe(false);
    expect(read(join(root, "new.name"))).toBe("r");
  });

  test("strict directories: a synced new file survives only once its directory is fsynced", () => {
    const model = new PowerLossModel(root, { strictDirectories: true });
    writeFileSync(join(root, "a.log"), "abc");
    model.beginDatasync(join(root, "a.log"))();
    writeFileSync(join(root, "b.log"), "xyz");
    model.beginDatasync(join(root, "b.log"))();
    model.fsyncDirectory(root);
    writeFileSync(join(root, "c.log"), "late");
    model.beginDatasync(join(root, "c.log"))();
    model.crash();
    expect(read(join(root, "a.log"))).toBe("abc");
    expect(read(join(root, "b.log"))).toBe("xyz");
    expect(existsSync(join(root, "c.log"))).toBe(false);
  });
});
