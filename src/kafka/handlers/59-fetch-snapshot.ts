// FetchSnapshot (key 59), v0-v1, internal (CONTROLLER) listener only: a metadata quorum member whose
// fetch offset is below the leader's log start reads the leader's newest snapshot in chunks (KIP-630);
// handed to the Raft core (src/raft/driver.ts).

import { ErrorCode } from "../../protocol/errors.ts";
import { FetchSnapshotApi } from "../../protocol/generated/fetch-snapshot.ts";
import type { FetchSnapshotResponse } from "../../raft/messages.ts";
import { decodeFetchSnapshotRequest, encodeFetchSnapshotResponse } from "../../raft/wire.ts";
import { defineHandler } from "../handler.ts";
import { quorumRefusal } from "../quorum-requests.ts";

export default defineHandler({
  api: FetchSnapshotApi,
  minVersion: 0,
  maxVersion: 1,
  async handle(request, ctx) {
    const refusal = quorumRefusal(ctx.broker, request.clusterId);
    if (refusal !== null) return { errorCode: refusal };
    const fetch = decodeFetchSnapshotRequest(request);
    if (fetch === null) return { errorCode: ErrorCode.INVALID_REQUEST };
    return encodeFetchSnapshotResponse(await ctx.broker.quorum!.raft!.handle(fetch.replicaId, fetch) as FetchSnapshotResponse);
  },
});
