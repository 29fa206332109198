// BeginQuorumEpoch (key 53), v0-v1, internal (CONTROLLER) listener only: a new metadata quorum leader
// announcing its epoch, handed to the Raft core (src/raft/driver.ts). Not done: leader endpoints
// (v1, KIP-853: the voters list gives every address).

import { ErrorCode } from "../../protocol/errors.ts";
import { BeginQuorumEpochApi } from "../../protocol/generated/begin-quorum-epoch.ts";
import type { BeginQuorumEpochResponse } from "../../raft/messages.ts";
import { decodeBeginQuorumEpochRequest, encodeBeginQuorumEpochResponse } from "../../raft/wire.ts";
import { defineHandler } from "../handler.ts";
import { quorumRefusal } from "../quorum-requests.ts";

export default defineHandler({
  api: BeginQuorumEpochApi,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const refusal = quorumRefusal(ctx.broker, request.clusterId);
    if (refusal !== null) return { errorCode: refusal };
    const begin = decodeBeginQuorumEpochRequest(request);
    if (begin === null) return { errorCode: ErrorCode.INVALID_REQUEST };
    return encodeBeginQuorumEpochResponse(await ctx.broker.quorum!.raft!.handle(begin.leaderId, begin) as BeginQuorumEpochResponse);
  },
});
