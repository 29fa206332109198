// ApiVersions (key 18), v0-v4. Answers the table assembled from the registered handlers (each
// advertises its full range; see ../handler.ts). v3+ carry no supported/finalized features: this
// broker has none to negotiate. The UNSUPPORTED_VERSION fallback for versions above ours is
// answered by the dispatcher (v0 layout), before a handler is chosen. Responses always use header
// v0 (also done by the dispatcher). Does not validate the v3 client software name/version.

import { ErrorCode } from "../../protocol/errors.ts";
import { ApiVersionsApi } from "../../protocol/generated/index.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: ApiVersionsApi,
  minVersion: 0,
  maxVersion: ApiVersionsApi.maxVersion,
  handle(_request, ctx) {
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: ctx.broker.apiRanges.map((range) => ({ ...range })),
      throttleTimeMs: 0,
    };
  },
});
