// Vote (key 52), v0-v2 (v2: KIP-996's PreVote), served on the internal (CONTROLLER) listener only:
// handed to the metadata quorum's Raft core (src/raft/driver.ts), which persists its vote before
// answering. A node without a quorum (one-node cluster) or a request from another cluster
// (INCONSISTENT_CLUSTER_ID) is refused at the top level. Not done: voter directory ids (KIP-853).

import { ErrorCode } from "../../protocol/errors.ts";
import { VoteApi } from "../../protocol/generated/vote.ts";
import { decodeVoteRequest, encodeVoteResponse } from "../../raft/wire.ts";
import type { VoteResponse } from "../../raft/messages.ts";
import { defineHandler } from "../handler.ts";
import { quorumRefusal } from "../quorum-requests.ts";

export default defineHandler({
  api: VoteApi,
  minVersion: 0,
  maxVersion: 2,
  async handle(request, ctx) {
    const refusal = quorumRefusal(ctx.broker, request.clusterId);
    if (refusal !== null) return { errorCode: refusal };
    const vote = decodeVoteRequest(request);
    if (vote === null) return { errorCode: ErrorCode.INVALID_REQUEST };
    // Before v2 every vote is a real one.
    const answer = await ctx.broker.quorum!.raft!.handle(vote.candidateId, ctx.version >= 2 ? vote : { ...vote, preVote: false });
    return encodeVoteResponse(answer as VoteResponse);
  },
});
