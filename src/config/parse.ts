// Parsing and printing of single config values, checked against their ConfigDef.

import { LONG_MAX, LONG_MAX_STRING, type ConfigDef } from "./schema.ts";

/** A configuration that cannot be accepted: unknown key or bad value. The message names the key. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`config ${key}: ${message}`);
    this.name = "ConfigError";
    this.key = key;
  }
}

function parseNumber(key: string, def: ConfigDef<unknown>, text: string): number {
  const trimmed = text.trim();
  if (def.kind === "double") {
    const value = Number(trimmed);
    if (trimmed === "" || !Number.isFinite(value)) throw new ConfigError(key, `"${text}" is not a number`);
    return value;
  }
  if (!/^-?\d+$/.test(trimmed)) throw new ConfigError(key, `"${text}" is not an integer`);
  const big = BigInt(trimmed);
  if (def.kind === "int" && (big > 2147483647n || big < -2147483648n)) {
    throw new ConfigError(key, `${trimmed} is out of the int range`);
  }
  if (big > 9223372036854775807n || big < -9223372036854775808n) {
    throw new ConfigError(key, `${trimmed} is out of the long range`);
  }
  // Longs beyond 2^53 only ever mean "never" in Kafka's configs (Long.MAX_VALUE).
  return big >= BigInt(LONG_MAX) ? LONG_MAX : Number(big);
}

function checkRange(key: string, def: ConfigDef<unknown>, value: number): void {
  if (def.min !== undefined && value < def.min) throw new ConfigError(key, `${value} is below the minimum ${def.min}`);
  if (def.max !== undefined && value > def.max) throw new ConfigError(key, `${value} is above the maximum ${def.max}`);
}

export function parseValue(key: string, def: ConfigDef<unknown>, text: string | null): unknown {
  if (text === null) {
    if (def.nullable) return null;
    throw new ConfigError(key, "may not be null");
  }
  switch (def.kind) {
    case "int":
    case "long":
    case "double": {
      const value = parseNumber(key, def, text);
      checkRange(key, def, value);
      return value;
    }
    case "boolean": {
      const lower = text.trim().toLowerCase();
      if (lower === "true") return true;
      if (lower === "false") return false;
      throw new ConfigError(key, `"${text}" is not a boolean (true or false)`);
    }
    case "string": {
      const value = text.trim();
      if (def.oneOf && !def.oneOf.includes(value)) {
        throw new ConfigError(key, `"${text}" is not one of ${def.oneOf.join(", ")}`);
      }
      return value;
    }
    case "list": {
      const items = text.split(",").map((item) => item.trim()).filter((item) => item.length > 0);
      for (const item of items) {
        if (def.oneOf && !def.oneOf.includes(item)) {
          throw new ConfigError(key, `"${item}" is not one of ${def.oneOf.join(", ")}`);
        }
      }
      return items;
    }
  }
}

/** The value as Kafka prints it (DescribeConfigs, properties files). */
export function formatValue(def: ConfigDef<unknown>, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.join(",");
  if ((def.kind === "long") && value === LONG_MAX) return LONG_MAX_STRING;
  return String(value);
}
