// The reassignment rules (src/cluster/controller/reassignment.ts), pure: start, completion once
// the target replicas are in the ISR, cancel, a new target over one in progress, and the leader
// elections of ElectLeaders.

import { describe, expect, test } from "bun:test";
import {
  cancelReassignment, completeReassignment, electPreferredLeader, electUncleanLeader, startReassignment, type ReassigningRegistration,
} from "../../src/cluster/controller/reassignment.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";

const all = () => true;
const registration = (fields: Partial<ReassigningRegistration>): ReassigningRegistration => ({
  replicas: [1, 2, 3], isr: [1, 2, 3], addingReplicas: [], removingReplicas: [], leader: 1, ...fields,
});

describe("reassignment rules", () => {
  test("start: the new replicas are added outside the ISR, the removed ones stay until completion", () => {
    const started = startReassignment(registration({}), [4, 2, 3], all, all);
    expect(started).toEqual({ ok: true, changed: true, registration: { replicas: [4, 2, 3, 1], isr: [1, 2, 3], addingReplicas: [4], removingReplicas: [1], leader: 1 } });
  });

  test("completion waits for every target replica in the ISR, then drops the removed ones and moves their leadership", () => {
    const started = startReassignment(registration({}), [4, 2, 3], all, all);
    if (!started.ok) throw new Error("refused");
    expect(completeReassignment(started.registration, all)).toBeNull();
    const caughtUp = { ...started.registration, isr: [1, 2, 3, 4] };
    expect(completeReassignment(caughtUp, all)).toEqual({ replicas: [4, 2, 3], isr: [2, 3, 4], addingReplicas: [], removingReplicas: [], leader: 4 });
    // A leader that stays keeps leading.
    const keep = { ...caughtUp, leader: 2 };
    expect(completeReassignment(keep, all)!.leader).toBe(2);
    // The target's first eligible ISR member leads when the preferred one cannot.
    expect(completeReassignment(caughtUp, (id) => id !== 4)!.leader).toBe(2);
  });

  test("a shrink or a reorder within the ISR completes at once", () => {
    expect(startReassignment(registration({}), [3, 2], all, all)).toEqual({
      ok: true, changed: true, registration: { replicas: [3, 2], isr: [2, 3], addingReplicas: [], removingReplicas: [], leader: 3 },
    });
    expect(startReassignment(registration({}), [1, 2, 3], all, all)).toMatchObject({ ok: true, changed: false });
  });

  test("a new target over one in progress starts from the original replicas", () => {
    const first = registration({ replicas: [4, 2, 3, 1], addingReplicas: [4], removingReplicas: [1], isr: [1, 2, 3] });
    const second = startReassignment(first, [5, 2, 3], all, all);
    expect(second).toEqual({ ok: true, changed: true, registration: { replicas: [5, 2, 3, 1], isr: [1, 2, 3], addingReplicas: [5], removingReplicas: [1], leader: 1 } });
  });

  test("cancel restores the original replicas and takes the added ones out of the ISR", () => {
    const inProgress = registration({ replicas: [4, 2, 3, 1], addingReplicas: [4], removingReplicas: [1], isr: [1, 2, 3, 4], leader: 4 });
    expect(cancelReassignment(inProgress, all)).toEqual({
      ok: true, changed: true, registration: { replicas: [2, 3, 1], isr: [1, 2, 3], addingReplicas: [], removingReplicas: [], leader: 2 },
    });
    expect(cancelReassignment(registration({}), all)).toMatchObject({ ok: false, errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS });
  });

  test("bad targets are refused", () => {
    expect(startReassignment(registration({}), [], all, all)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
    expect(startReassignment(registration({}), [2, 2], all, all)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
    expect(startReassignment(registration({}), [9], (id) => id < 5, all)).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT });
    // Removing the only in-sync replica waits for the targets to catch up: it stays meanwhile.
    expect(startReassignment(registration({ isr: [1] }), [2, 3], all, all)).toMatchObject({
      ok: true, registration: { replicas: [2, 3, 1], isr: [1], removingReplicas: [1], leader: 1 },
    });
  });

  test("preferred and unclean elections", () => {
    expect(electPreferredLeader(registration({ leader: 2 }), all)).toEqual({ errorCode: 0, leader: 1 });
    expect(electPreferredLeader(registration({}), all).errorCode).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    expect(electPreferredLeader(registration({ leader: 2, isr: [2, 3] }), all).errorCode).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    expect(electUncleanLeader(registration({ leader: -1, isr: [1] }), (id) => id === 3)).toEqual({ errorCode: 0, leader: 3, isr: [3] });
    expect(electUncleanLeader(registration({}), all).errorCode).toBe(ErrorCode.ELECTION_NOT_NEEDED);
  });
});
