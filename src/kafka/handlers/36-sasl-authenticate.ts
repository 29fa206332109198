// SaslAuthenticate (key 36), v0-v2. One step of the exchange SaslHandshake started (sasl-exchange.ts):
// the server's token back; once it succeeds, the session's principal is the user and, v1+,
// session_lifetime_ms is connections.max.reauth.ms (the client re-authenticates before it passes,
// KIP-368). A failure answers SASL_AUTHENTICATION_FAILED with Kafka's message after
// connection.failed.authentication.delay.ms, then closes the connection. Without a handshake
// first (or on a listener without SASL): ILLEGAL_SASL_STATE.

import { ErrorCode } from "../../protocol/errors.ts";
import { SaslAuthenticateApi } from "../../protocol/generated/index.ts";
import { defineHandler } from "../handler.ts";
import { saslStep } from "../sasl-exchange.ts";

const noBytes = new Uint8Array(0);

export default defineHandler({
  api: SaslAuthenticateApi,
  minVersion: 0,
  maxVersion: SaslAuthenticateApi.maxVersion,
  async handle(request, ctx) {
    const session = ctx.session;
    if (!ctx.broker.security || !session.usesSasl || session.sasl === null) {
      if (session.usesSasl) ctx.onDone(() => session.closeConnection("SaslAuthenticate without SaslHandshake"));
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: "Unexpected SaslAuthenticate request: no SaslHandshake before it", authBytes: noBytes, sessionLifetimeMs: 0n };
    }
    const outcome = await saslStep(ctx.broker, session, request.authBytes);
    if (outcome.kind === "failed") {
      ctx.onDone(() => session.closeConnection("authentication failed"));
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: outcome.message, authBytes: noBytes, sessionLifetimeMs: 0n };
    }
    const sessionLifetimeMs = outcome.kind === "done" ? BigInt(outcome.sessionLifetimeMs) : 0n;
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: outcome.response, sessionLifetimeMs };
  },
});
