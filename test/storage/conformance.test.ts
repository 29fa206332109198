// Runs the storage conformance suite against each NativeApi implementation: the C library (mapped,
// zero-copy reads) and the pure-TypeScript fallback (pread/pwrite). With RUNNEL_NATIVE set, only
// the implementation it selects runs (the test script's fallback pass sets RUNNEL_NATIVE=0).

import { fallback, loadNative, native } from "../../src/native/index.ts";
import type { NativeApi } from "../../src/native/types.ts";
import { defineConformanceSuite } from "./conformance-suite.ts";

const implementations: [string, NativeApi][] = [];
if (process.env.RUNNEL_NATIVE !== undefined) {
  implementations.push([native.name, native]);
} else {
  const library = loadNative();
  if (library) implementations.push(["native", library]);
  implementations.push(["fallback", fallback]);
}
for (const [label, implementation] of implementations) defineConformanceSuite(label, implementation);
