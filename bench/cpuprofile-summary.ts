// `bun bench/cpuprofile-summary.ts <file.cpuprofile> [rows] [filter]`: self and total time per
// function of a `bun --cpu-prof` profile, with idle left out. Bun's own Markdown report
// (--cpu-prof-md) weighs each sample by the time since the previous one, so a broker that waited
// 300 ms in the event loop shows those 300 ms on whatever function ran last (often a socket write
// or a connect). Here a sample counts at most `idleCapMicros` (2 sampling intervals); the rest of a
// longer gap is reported as idle. `filter` keeps the rows whose name contains it.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const idleCapMicros = 2_000;

function nameOf(node: ProfileNode, root: string): string {
  const frame = node.callFrame;
  return `${frame.functionName || "(anonymous)"} ${frame.url.replace(`file://${root}/`, "").replace(root + "/", "")}:${frame.lineNumber + 1}`;
}

export function summarize(profile: CpuProfile, root: string): { busyMicros: number; idleMicros: number; self: Map<string, number>; total: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let busyMicros = 0;
  let idleMicros = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    // timeDeltas[i] is the gap before sample i: the time sample i-1 stood for.
    const gap = profile.timeDeltas[index + 1] ?? idleCapMicros / 2;
    const counted = Math.min(gap, idleCapMicros);
    busyMicros += counted;
    idleMicros += gap - counted;
    let id: number | undefined = profile.samples[index]!;
    const leaf = nameOf(byId.get(id)!, root);
    self.set(leaf, (self.get(leaf) ?? 0) + counted);
    const seen = new Set<string>(); // recursion counts once per sample
    while (id !== undefined) {
      const name = nameOf(byId.get(id)!, root);
      if (!seen.has(name)) {
        seen.add(name);
        total.set(name, (total.get(name) ?? 0) + counted);
      }
      id = parentOf.get(id);
    }
  }
  return { busyMicros, idleMicros, self, total };
}

if (import.meta.main) {
  const [file, rowsText, filter] = process.argv.slice(2);
  if (!file) {
    console.error("usage: bun bench/cpuprofile-summary.ts <file.cpuprofile> [rows=40] [filter]");
    process.exit(2);
  }
  const rows = Number(rowsText ?? 40);
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const summary = summarize(JSON.parse(await Bun.file(file).text()) as CpuProfile, root);
  console.log(`busy ${(summary.busyMicros / 1e6).toFixed(2)} s, idle left out ${(summary.idleMicros / 1e6).toFixed(2)} s`);
  for (const [label, table] of [["self", summary.self], ["total", summary.total]] as const) {
    console.log(`-- ${label}`);
    const sorted = [...table].filter(([name]) => !filter || name.includes(filter)).sort((left, right) => right[1] - left[1]).slice(0, rows);
    for (const [name, micros] of sorted) {
      console.log(`${((100 * micros) / summary.busyMicros).toFixed(1).padStart(5)} % ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`);
    }
  }
}
