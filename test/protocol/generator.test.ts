// The generator on a synthetic descriptor that uses what the 60 real ones do not: float64, uint16,
// arrays of every primitive, a nullable struct, tagged fields of several kinds (one non-ignorable),
// a field-level flexibleVersions override, hex/negative defaults, commonStructs, `//` inside strings.

import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateApiModule, parseMessage, stripComments } from "../../scripts/gen-protocol.ts";
import { KafkaError } from "../../src/protocol/errors.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";

const request = `// header comment
{
  "apiKey": 999, "type": "request", "name": "SyntheticRequest",
  "validVersions": "0-3", "flexibleVersions": "2+",
  "fields": [
    { "name": "Ratio", "type": "float64", "versions": "0+", "default": "1.5", "about": "a // not a comment" },
    { "name": "Port", "type": "uint16", "versions": "0+" },
    { "name": "Small", "type": "int8", "versions": "1+", "default": "-3" },
    { "name": "Big", "type": "int32", "versions": "0+", "default": "0x7fffffff" },
    { "name": "Ids", "type": "[]int64", "versions": "0+" },
    { "name": "Names", "type": "[]string", "versions": "0+", "nullableVersions": "1+" },
    { "name": "Uuids", "type": "[]uuid", "versions": "0+" },
    { "name": "Flags", "type": "[]bool", "versions": "0+" },
    { "name": "Legacy", "type": "string", "versions": "0+", "flexibleVersions": "none", "nullableVersions": "0+" },
    { "name": "Maybe", "type": "Thing", "versions": "1+", "nullableVersions": "1+", "default": "null", "fields": [
      { "name": "Value", "type": "int32", "versions": "1+" },
      { "name": "Shared", "type": "[]Common", "versions": "1+" }
    ]},
    { "name": "Note", "type": "string", "versions": "2+", "taggedVersions": "2+", "tag": 5, "nullableVersions": "2+", "default": "null" },
    { "name": "Epoch", "type": "int64", "versions": "3+", "taggedVersions": "3+", "tag": 1, "default": "-1" },
    { "name": "OnlyOld", "type": "int32", "versions": "0-1" }
  ],
  "commonStructs": [
    { "name": "Common", "versions": "0+", "fields": [ { "name": "Label", "type": "string", "versions": "0+" } ] }
  ]
}`;
const response = `{ "apiKey": 999, "type": "response", "name": "SyntheticResponse", "validVersions": "0-3", "flexibleVersions": "2+",
  "fields": [ { "name": "ErrorCode", "type": "int16", "versions": "0+" } ] }`;

test("comments are stripped outside strings only", () => {
  expect(stripComments('{"a": "x // y"} // z')).toBe('{"a": "x // y"} \n');
});

test("a synthetic API round-trips at every version", async () => {
  const directory = mkdtempSync(join(tmpdir(), "runnel-gen-test-"));
  try {
    const source = generateApiModule(parseMessage(request), parseMessage(response))
      .replaceAll('"../errors.ts"', JSON.stringify(join(import.meta.dir, "../../src/protocol/errors.ts")))
      .replaceAll('"../primitives.ts"', JSON.stringify(join(import.meta.dir, "../../src/protocol/primitives.ts")))
      .replaceAll('"./support.ts"', JSON.stringify(join(import.meta.dir, "../../src/protocol/generated/support.ts")));
    writeFileSync(join(directory, "synthetic.ts"), source);
    const { SyntheticApi } = await import(join(directory, "synthetic.ts"));
    expect(SyntheticApi.flexibleMinVersion).toBe(2);

    const full = {
      ratio: -2.25,
      port: 65535,
      small: 7,
      big: 12,
      ids: [1n, -(2n ** 63n)],
      names: ["a", "é"],
      uuids: ["AAAAAAAAAAAAAAAAAAAAAQ"],
      flags: [true, false],
      legacy: "old-style",
      maybe: { value: 9, shared: [{ label: "x" }] },
      note: "tagged",
      epoch: 42n,
      onlyOld: 5,
    };
    for (let version = 0; version <= 3; version++) {
      const input: Record<string, unknown> = { ...full };
      if (version < 1) Object.assign(input, { small: undefined, maybe: undefined });
      if (version < 2) input.note = undefined;
      if (version < 3) input.epoch = undefined;
      if (version > 1) input.onlyOld = undefined;
      const writer = new Writer();
      SyntheticApi.encodeRequest(writer, version, input);
      const decoded = SyntheticApi.decodeRequest(new Reader(writer.finish()), version);
      expect(decoded.ratio).toBe(-2.25);
      expect(decoded.port).toBe(65535);
      expect(decoded.small).toBe(version >= 1 ? 7 : -3);
      expect(decoded.big).toBe(12);
      expect(decoded.ids).toEqual(full.ids);
      expect(decoded.names).toEqual(full.names);
      expect(decoded.uuids).toEqual(full.uuids);
      expect(decoded.flags).toEqual(full.flags);
      expect(decoded.legacy).toBe("old-style");
      expect(decoded.maybe).toEqual(version >= 1 ? full.maybe : null);
      expect(decoded.note).toBe(version >= 2 ? "tagged" : null);
      expect(decoded.epoch).toBe(version >= 3 ? 42n : -1n);
      expect(decoded.onlyOld).toBe(version <= 1 ? 5 : 0);
    }

    // Defaults when nothing is given; a null nullable struct; null names at v1 but not v0.
    const empty = new Writer();
    SyntheticApi.encodeRequest(empty, 3, { maybe: null, names: null });
    const defaults = SyntheticApi.decodeRequest(new Reader(empty.finish()), 3);
    expect(defaults).toMatchObject({ ratio: 1.5, small: -3, big: 0x7fffffff, maybe: null, names: null, note: null, epoch: -1n });
    expect(() => SyntheticApi.encodeRequest(new Writer(), 0, { names: null })).toThrow(KafkaError);

    // The override: Legacy keeps its int16 length even in flexible versions.
    const legacy = new Writer();
    SyntheticApi.encodeRequest(legacy, 2, { legacy: "ab" });
    const bytes = legacy.finish();
    // ratio 8, port 2, small 1, big 4, then four empty compact arrays of 1 byte each: 19 bytes.
    expect([...bytes.subarray(19, 23)]).toEqual([0, 2, 97, 98]);

    // A non-ignorable field with a value at a version without it is refused; its default is not.
    expect(() => SyntheticApi.encodeRequest(new Writer(), 2, { onlyOld: 5 })).toThrow(/OnlyOld/);
    SyntheticApi.encodeRequest(new Writer(), 2, { onlyOld: 0 });
    expect(() => SyntheticApi.encodeRequest(new Writer(), 2, { epoch: 5n })).toThrow(/Epoch/);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
