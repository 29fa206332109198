// Sample values for the generated codecs, built from the descriptors (independently of the
// generator's own default logic): used by the round-trip test and the decode fuzzer.

import { join } from "node:path";
import { type FieldSpec, inRange, loadMessages, type MessageSpec, type StructSpec } from "../../scripts/gen-protocol.ts";
import { randomUuid, ZERO_UUID } from "../../src/protocol/primitives.ts";

export const messages = loadMessages(join(import.meta.dir, "../../protocol/messages"));
export const messageByName = new Map(messages.map((message) => [message.name, message]));

export type Value = Record<string, unknown>;

export function flexibleAt(message: MessageSpec, field: FieldSpec, version: number): boolean {
  return inRange(message.flexibleVersions, version) && (!field.flexibleVersions || inRange(field.flexibleVersions, version));
}

export function presentAt(message: MessageSpec, field: FieldSpec, version: number): boolean {
  if (!inRange(field.versions, version)) return false;
  if (inRange(field.taggedVersions, version)) return inRange(message.flexibleVersions, version);
  return true;
}

/** The descriptor default of a field, computed from the JSON (not from generated code). */
export function defaultOf(field: FieldSpec): unknown {
  const text = field.defaultText;
  if (text === "null") return null;
  const type = field.type;
  if (type.kind === "array") return [];
  if (type.kind === "struct") return defaultStruct(type.struct);
  switch (type.name) {
    case "bool":
      return text === "true";
    case "int64":
      return BigInt(text === undefined ? 0 : Number(text));
    case "string":
      return text ?? "";
    case "uuid":
      return ZERO_UUID;
    case "bytes":
    case "records":
      return new Uint8Array(0);
    default:
      return text === undefined ? 0 : Number(text);
  }
}

export function defaultStruct(struct: StructSpec): Value {
  const out: Value = {};
  for (const field of struct.fields) out[field.name] = defaultOf(field);
  return out;
}

export function primitiveSample(name: string, seed: number, fieldDefault: unknown): unknown {
  switch (name) {
    case "bool":
      return fieldDefault !== true;
    case "int8":
      return fieldDefault === 5 + seed ? 6 + seed : 5 + seed;
    case "int16":
      return 1200 + seed;
    case "uint16":
      return 54321;
    case "int32":
      return 123456 + seed;
    case "int64":
      return 1234567890123n + BigInt(seed);
    case "float64":
      return 3.5 + seed;
    case "string":
      return `s${seed}-é`;
    case "uuid":
      return randomUuid();
    case "bytes":
    case "records":
      return new Uint8Array([1, 2, 3, seed & 255]);
  }
  throw new Error(`no sample for ${name}`);
}

/**
 * A value for `struct` at `version` (input: only present fields), and the value decoding must give
 * (expected: absent fields at their defaults). `nulls` sets nullable fields to null.
 */
export function sample(message: MessageSpec, struct: StructSpec, version: number, nulls: boolean, seed: number): { input: Value; expected: Value } {
  const input: Value = {};
  const expected: Value = {};
  for (const field of struct.fields) {
    if (!presentAt(message, field, version)) {
      expected[field.name] = defaultOf(field);
      continue;
    }
    if (nulls && inRange(field.nullableVersions, version)) {
      input[field.name] = null;
      expected[field.name] = null;
      continue;
    }
    const type = field.type;
    if (type.kind === "primitive") {
      const value = primitiveSample(type.name, seed, defaultOf(field));
      input[field.name] = value;
      expected[field.name] = value;
    } else if (type.kind === "struct") {
      const inner = sample(message, type.struct, version, nulls, seed + 1);
      input[field.name] = inner.input;
      expected[field.name] = inner.expected;
    } else {
      const element = type.element;
      const inputs: unknown[] = [];
      const expecteds: unknown[] = [];
      for (let index = 0; index < 2; index++) {
        if (element.kind === "struct") {
          const inner = sample(message, element.struct, version, nulls, seed + index + 1);
          inputs.push(inner.input);
          expecteds.push(inner.expected);
        } else if (element.kind === "primitive") {
          const value = primitiveSample(element.name, seed + index, undefined);
          inputs.push(value);
          expecteds.push(value);
        }
      }
      input[field.name] = inputs;
      expected[field.name] = expecteds;
    }
  }
  return { input, expected };
}


/** Seeded xorshift32 in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

const stringAlphabet = ["a", "Z", "0", "-", ".", "_", " ", "é", "ß", "☃", "𝄞", "日"];

function randomPrimitive(name: string, random: () => number): unknown {
  const integer = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
  switch (name) {
    case "bool":
      return random() < 0.5;
    case "int8":
      return integer(-128, 127);
    case "int16":
      return integer(-32768, 32767);
    case "uint16":
      return integer(0, 65535);
    case "int32":
      return integer(-(2 ** 31), 2 ** 31 - 1);
    case "int64":
      return BigInt.asIntN(64, (BigInt(integer(0, 2 ** 32 - 1)) << 32n) | BigInt(integer(0, 2 ** 32 - 1)));
    case "float64":
      return (random() - 0.5) * 10 ** integer(-5, 12);
    case "string": {
      let text = "";
      for (let count = integer(0, 12); count > 0; count--) text += stringAlphabet[integer(0, stringAlphabet.length - 1)];
      return text;
    }
    case "uuid": {
      if (random() < 0.2) return ZERO_UUID;
      return randomUuid();
    }
    case "bytes":
    case "records":
      return Uint8Array.from({ length: integer(0, 20) }, () => integer(0, 255));
  }
  throw new Error(`no random value for ${name}`);
}

/** A random value: fields omitted (→ default), null, or random; arrays of 0–3 elements. */
export function randomSample(message: MessageSpec, struct: StructSpec, version: number, random: () => number): { input: Value; expected: Value } {
  const input: Value = {};
  const expected: Value = {};
  for (const field of struct.fields) {
    const roll = random();
    if (!presentAt(message, field, version) || roll < 0.15) {
      expected[field.name] = defaultOf(field);
      continue;
    }
    if (roll < 0.3 && inRange(field.nullableVersions, version)) {
      input[field.name] = null;
      expected[field.name] = null;
      continue;
    }
    const type = field.type;
    if (type.kind === "primitive") {
      const value = randomPrimitive(type.name, random);
      input[field.name] = value;
      expected[field.name] = value;
    } else if (type.kind === "struct") {
      const inner = randomSample(message, type.struct, version, random);
      input[field.name] = inner.input;
      expected[field.name] = inner.expected;
    } else {
      const inputs: unknown[] = [];
      const expecteds: unknown[] = [];
      for (let count = Math.floor(random() * 4); count > 0; count--) {
        const element = type.element;
        if (element.kind === "struct") {
          const inner = randomSample(message, element.struct, version, random);
          inputs.push(inner.input);
          expecteds.push(inner.expected);
        } else if (element.kind === "primitive") {
          const value = randomPrimitive(element.name, random);
          inputs.push(value);
          expecteds.push(value);
        }
      }
      input[field.name] = inputs;
      expected[field.name] = expecteds;
    }
  }
  return { input, expected };
}
