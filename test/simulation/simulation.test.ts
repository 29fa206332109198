// The cluster simulation over many seeds (docs/replication.md §9): the Raft metadata quorum, the
// controller's partition rules and ISR replication, under crashes, power cuts, partitions, lossy
// and reordering networks, slow disks and clock skew. Every invariant is checked after every step;
// after the faults heal the cluster must elect, commit and take acks=all produces within a bound.
// A failure prints the seed, the replay command and the tail of the trace. RUNNEL_SIM_SEEDS=N
// multiplies the seed counts for a longer soak.

import { describe, expect, test } from "bun:test";
import type { Coverage } from "./context.ts";
import type { SimProfile, SimResult } from "./simulation.ts";
import { runSeed } from "./simulation.ts";

const scale = Math.max(1, Number(process.env.RUNNEL_SIM_SEEDS ?? 1));

interface Batch {
  readonly profile: SimProfile;
  readonly nodes: 3 | 5;
  readonly seeds: number;
}

// 2,150 seeds before the membership batches: 34 s measured in a full run at load average 4 on this 2-CPU machine.
const batches: Batch[] = [
  { profile: "chaos", nodes: 3, seeds: 1000 },
  { profile: "chaos", nodes: 5, seeds: 500 },
  { profile: "churn", nodes: 3, seeds: 300 },
  { profile: "churn", nodes: 5, seeds: 200 },
  { profile: "calm", nodes: 3, seeds: 100 },
  { profile: "calm", nodes: 5, seeds: 50 },
  // KIP-853 voter changes under chaos: ~1.2 committed changes per seed.
  { profile: "membership", nodes: 3, seeds: 300 },
  { profile: "membership", nodes: 5, seeds: 100 },
];

function report(batch: Batch, result: SimResult): string {
  return [
    `FAILED ${result.summary}`,
    `  ${result.failure}`,
    `  replay: bun run sim --seeds 1 --start ${result.seed} --nodes ${batch.nodes} --profile ${batch.profile}`,
    "  trace tail:",
    ...result.trace.slice(-60).map((line) => `    ${line}`),
  ].join("\n");
}

describe("cluster simulation", () => {
  for (const batch of batches) {
    const seeds = batch.seeds * scale;
    test(`${seeds} seeds, ${batch.nodes} voters, ${batch.profile}: every invariant holds and the cluster recovers after healing`, () => {
      const failures: string[] = [];
      const coverage: Record<string, number> = {};
      let acked = 0;
      let voterChanges = 0;
      for (let seed = 1; seed <= seeds; seed++) {
        const result = runSeed({ seed, nodes: batch.nodes, profile: batch.profile });
        if (!result.ok) failures.push(report(batch, result));
        acked += result.stats.acked;
        voterChanges += result.stats.voterChanges;
        for (const [key, value] of Object.entries(result.coverage)) coverage[key] = (coverage[key] ?? 0) + value;
      }
      expect(failures.join("\n\n")).toBe("");
      expect(acked).toBeGreaterThan(seeds); // producers really got acks=all records committed
      if (batch.profile === "membership") expect(voterChanges).toBeGreaterThan(seeds / 2); // voter sets really changed under the faults
      // The runs went through every path worth testing (a calm run has no crashes, hence no
      // truncation of the quorum log, no unclean restart, and rarely a too-small ISR).
      const notInCalm: (keyof Coverage)[] = ["raftTruncations", "uncleanRegistrations", "notEnoughReplicas"];
      const expected = (Object.keys(coverage) as (keyof Coverage)[])
        .filter((key) => batch.profile !== "calm" || !notInCalm.includes(key))
        .filter((key) => batch.profile === "membership" || key !== "voterChangesProposed");
      for (const key of expected) expect({ [key]: coverage[key]! > 0 }).toEqual({ [key]: true });
    }, 120_000);
  }

  test("a seed replays exactly", () => {
    for (const seed of [7, 4242]) {
      const first = runSeed({ seed, nodes: 5, profile: "chaos" });
      const second = runSeed({ seed, nodes: 5, profile: "chaos" });
      expect(second.fingerprint).toBe(first.fingerprint);
      expect(second.stats).toEqual(first.stats);
    }
    expect(runSeed({ seed: 7, nodes: 5 }).fingerprint).not.toBe(runSeed({ seed: 8, nodes: 5 }).fingerprint);
  });
});
