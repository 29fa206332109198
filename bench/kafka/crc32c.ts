// CRC-32C (Castagnoli) for the RecordBatch v2 checksums the bench producer writes. The
// broker's native helper (src/native) is used when it loads; until then, and on machines
// without it, a slicing-by-8 table implementation in TypeScript does the job.

const polynomial = 0x82f63b78; // reflected Castagnoli
const tables: Uint32Array[] = [];
{
  const base = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ polynomial : crc >>> 1;
    base[byte] = crc >>> 0;
  }
  tables.push(base);
  for (let slice = 1; slice < 8; slice++) {
    const table = new Uint32Array(256);
    const previous = tables[slice - 1]!;
    for (let byte = 0; byte < 256; byte++) table[byte] = (previous[byte]! >>> 8) ^ base[previous[byte]! & 0xff]!;
    tables.push(table);
  }
}
const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

export function crc32cTs(data: Uint8Array, crc = 0): number {
  let value = ~crc >>> 0;
  let index = 0;
  const end8 = data.length - (data.length % 8);
  while (index < end8) {
    const low = (data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24)) ^ value;
    value =
      t7[low & 0xff]! ^
      t6[(low >>> 8) & 0xff]! ^
      t5[(low >>> 16) & 0xff]! ^
      t4[low >>> 24]! ^
      t3[data[index + 4]!]! ^
      t2[data[index + 5]!]! ^
      t1[data[index + 6]!]! ^
      t0[data[index + 7]!]!;
    index += 8;
  }
  while (index < data.length) value = t0[(value ^ data[index++]!) & 0xff]! ^ (value >>> 8);
  return ~value >>> 0;
}

export type Crc32c = (data: Uint8Array, crc?: number) => number;

/** The native CRC-32C if `src/native/index.ts` exists and loads, else the TypeScript one. */
export async function loadCrc32c(): Promise<{ crc32c: Crc32c; source: string }> {
  try {
    const path = "../../src/native/index.ts";
    const module = (await import(path)) as { native?: { crc32c?: Crc32c; name?: string } };
    const crc32c = module.native?.crc32c;
    if (typeof crc32c === "function" && crc32c(new TextEncoder().encode("123456789")) === 0xe3069283) {
      return { crc32c: (data, crc) => crc32c.call(module.native, data, crc), source: `src/native (${module.native?.name ?? "?"})` };
    }
  } catch {
    // Not built yet: use the TypeScript table implementation.
  }
  return { crc32c: crc32cTs, source: "bench TypeScript slicing-by-8" };
}
