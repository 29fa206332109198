// `__cluster_metadata-0/quorum-state`: what a voter must not forget across a restart — its epoch,
// its vote in that epoch and the leader it knows (Kafka's file, same name and JSON fields). Written
// atomically and fsynced before any message of the Raft ready that changed it is sent (core.ts).

import { join } from "node:path";
import type { StorageFs } from "../storage/index.ts";
import { INITIAL_QUORUM_STATE, type QuorumState } from "./types.ts";

export const quorumStateFileName = "quorum-state";

interface QuorumStateJson {
  clusterId: string;
  leaderId: number;
  leaderEpoch: number;
  votedId: number;
  appliedOffset: number;
  currentVoters: { voterId: number }[];
  data_version: number;
}

export function readQuorumState(fs: StorageFs, directory: string): QuorumState {
  const bytes = fs.readFile(join(directory, quorumStateFileName));
  if (bytes === null) return INITIAL_QUORUM_STATE;
  let parsed: QuorumStateJson;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as QuorumStateJson;
  } catch (error) {
    throw new Error(`${join(directory, quorumStateFileName)} is damaged (${String(error)}): restore it, or empty the directory to rejoin the quorum from scratch`);
  }
  if (!Number.isInteger(parsed.leaderEpoch) || parsed.leaderEpoch < 0) throw new Error(`${join(directory, quorumStateFileName)}: bad leaderEpoch`);
  return {
    epoch: parsed.leaderEpoch,
    votedId: parsed.votedId >= 0 ? parsed.votedId : null,
    leaderId: parsed.leaderId >= 0 ? parsed.leaderId : null,
  };
}

export async function writeQuorumState(fs: StorageFs, directory: string, state: QuorumState, clusterId: string, voters: readonly number[]): Promise<void> {
  const json: QuorumStateJson = {
    clusterId,
    leaderId: state.leaderId ?? -1,
    leaderEpoch: state.epoch,
    votedId: state.votedId ?? -1,
    appliedOffset: 0,
    currentVoters: voters.map((voterId) => ({ voterId })),
    data_version: 0,
  };
  await fs.writeFileAtomic(join(directory, quorumStateFileName), new TextEncoder().encode(JSON.stringify(json)));
}
