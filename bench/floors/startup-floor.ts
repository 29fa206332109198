// The start-up floor: the smallest compiled Bun program that does what a broker must before it
// accepts a connection — load a shared library embedded in the binary (Runnel's native helper,
// through bun:ffi) and listen on a TCP port. Compiled with the same flags as dist/runnel
// (--compile --bytecode); bench/scenarios/startup.ts measures exec → accepted connection for
// both. Usage: startup-floor PORT

import libraryPath from "../../native/build/librunnel.so" with { type: "file" };
import { dlopen, FFIType } from "bun:ffi";

const library = dlopen(libraryPath, { runnel_abi_version: { args: [], returns: FFIType.i32 } });
if (library.symbols.runnel_abi_version() <= 0) throw new Error("the embedded library did not answer");
const port = Number(process.argv[2]);
Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
