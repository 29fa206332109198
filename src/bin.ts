// Entry of the single compiled binary (`bun run build` → dist/runnel): embeds the native helper
// library into the binary, then runs main. Normal runs use src/main.ts directly.
import "./native/embedded.ts";
import "./main.ts";
