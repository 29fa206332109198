// EndQuorumEpoch (key 54), v0-v1, internal (CONTROLLER) listener only: a metadata quorum leader
// resigning (controlled shutdown, or a restart that found itself leader), with its preferred
// successors; handed to the Raft core (src/raft/driver.ts).

import { ErrorCode } from "../../protocol/errors.ts";
import { EndQuorumEpochApi } from "../../protocol/generated/end-quorum-epoch.ts";
import type { EndQuorumEpochResponse } from "../../raft/messages.ts";
import { decodeEndQuorumEpochRequest, encodeEndQuorumEpochResponse } from "../../raft/wire.ts";
import { defineHandler } from "../handler.ts";
import { quorumRefusal } from "../quorum-requests.ts";

export default defineHandler({
  api: EndQuorumEpochApi,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const refusal = quorumRefusal(ctx.broker, request.clusterId);
    if (refusal !== null) return { errorCode: refusal };
    const end = decodeEndQuorumEpochRequest(request);
    if (end === null) return { errorCode: ErrorCode.INVALID_REQUEST };
    return encodeEndQuorumEpochResponse(await ctx.broker.quorum!.raft!.handle(end.leaderId, end) as EndQuorumEpochResponse);
  },
});
