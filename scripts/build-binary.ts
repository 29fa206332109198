// `bun run build`: compile Runnel into one executable, dist/runnel. When the native helper was
// built (native/build/librunnel.so) it is embedded in the binary; without it (no C compiler) the
// binary is built from main.ts alone and runs on the pure-TypeScript fallback. The JavaScript is
// embedded as precompiled bytecode (--bytecode): it starts without parsing ~190 modules, which
// took about half of the time from exec to a listening broker.
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const embedded = existsSync(join(root, "native/build/librunnel.so"));
const entry = embedded ? "src/bin.ts" : "src/main.ts";
if (!embedded) console.log("build: native/build/librunnel.so not built; the binary will use the TypeScript fallback");
const result = Bun.spawnSync([process.execPath, "build", "--compile", "--bytecode", "--format=esm", entry, "--outfile", "dist/runnel"], {
  cwd: root, stdout: "inherit", stderr: "inherit",
});
process.exit(result.exitCode ?? 1);
