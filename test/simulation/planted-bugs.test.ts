// Tests of the simulator itself: each deliberately planted bug (the `bugs` options of the Raft core
// and of the replication rules, never set outside these tests) must be caught within the stated
// number of seeds, and the failing seed must replay to the same failure. A simulator that let one
// of these through would prove little about the real code.

import { describe, expect, test } from "bun:test";
import type { RaftBugs } from "../../src/raft/index.ts";
import type { ReplicationBugs } from "../../src/replication/core/index.ts";
import type { SimOptions, SimProfile } from "./simulation.ts";
import { runSeed } from "./simulation.ts";

interface PlantedBug {
  readonly raft?: keyof RaftBugs;
  readonly replication?: keyof ReplicationBugs;
  readonly profile: SimProfile;
  readonly nodes: 3 | 5;
  /** Caught within this many seeds (measured: the first failing seed is far below). */
  readonly within: number;
  readonly what: string;
}

const planted: PlantedBug[] = [
  { raft: "commitOldEpochDirectly", profile: "churn", nodes: 3, within: 50, what: "a leader commits an older epoch's entry by counting replicas (Raft's figure 8)" },
  { raft: "commitOldEpochDirectly", profile: "churn", nodes: 5, within: 50, what: "the same with five voters" },
  { raft: "countNonDurableLeaderEnd", profile: "chaos", nodes: 3, within: 50, what: "the leader counts entries it has not fsynced" },
  { raft: "skipPreVote", profile: "calm", nodes: 3, within: 50, what: "a follower cut off and back deposes a healthy leader" },
  { raft: "voteWithoutLogCheck", profile: "chaos", nodes: 3, within: 50, what: "votes go to candidates with shorter logs" },
  { raft: "concurrentVoterChanges", profile: "membership", nodes: 3, within: 60, what: "a voter change accepted before the previous one commits (KIP-853's one at a time)" },
  { replication: "hwPastLaggingIsr", profile: "chaos", nodes: 3, within: 50, what: "the high watermark passes a lagging ISR member" },
  { replication: "expandWithoutMaximalIsr", profile: "chaos", nodes: 3, within: 50, what: "an ISR member being added is not counted before the controller confirms it" },
  { replication: "ackBeforeHighWatermark", profile: "chaos", nodes: 3, within: 50, what: "acks=all answered before the high watermark passes the batch" },
  { replication: "expandBelowHighWatermark", profile: "chaos", nodes: 3, within: 50, what: "a follower below the high watermark joins the ISR" },
];

function optionsFor(bug: PlantedBug, seed: number): SimOptions {
  return {
    seed, nodes: bug.nodes, profile: bug.profile,
    raftBugs: bug.raft === undefined ? undefined : { [bug.raft]: true },
    replicationBugs: bug.replication === undefined ? undefined : { [bug.replication]: true },
  };
}

describe("planted bugs are caught", () => {
  for (const bug of planted) {
    test(`${bug.raft ?? bug.replication} (${bug.what}) within ${bug.within} seeds, ${bug.nodes} voters, ${bug.profile}`, () => {
      let caught: { seed: number; failure: string; trace: readonly string[] } | null = null;
      for (let seed = 1; seed <= bug.within && caught === null; seed++) {
        const result = runSeed(optionsFor(bug, seed));
        if (!result.ok) caught = { seed, failure: result.failure!, trace: result.trace };
      }
      expect(caught).not.toBeNull();
      expect(caught!.failure).toMatch(/^(InvariantViolation|AssertionError): /);
      // The failing seed replays to exactly the same failure and trace.
      const replay = runSeed(optionsFor(bug, caught!.seed));
      expect(replay.failure).toBe(caught!.failure);
      expect(replay.trace).toEqual(caught!.trace);
    }, 60_000);
  }

  test("the same seeds pass without the bugs", () => {
    for (const bug of planted) {
      for (let seed = 1; seed <= 10; seed++) expect(runSeed({ seed, nodes: bug.nodes, profile: bug.profile }).failure).toBeNull();
    }
  }, 60_000);
});
