// SaslHandshake (key 17), v0-v1. Picks the SASL mechanism of this connection's exchange among
// sasl.enabled.mechanisms (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER with Kafka's unsecured
// token validator, security/oauthbearer.ts). v1: the tokens follow in
// SaslAuthenticate requests; v0: they follow as bare size-prefixed tokens (the dispatcher reads
// them, sasl-exchange.ts serves them). A mechanism not offered answers UNSUPPORTED_SASL_MECHANISM
// with the list and closes the connection; on a listener without SASL, or a second handshake before
// the first exchange ended, ILLEGAL_SASL_STATE — as Kafka. A re-authentication (KIP-368) starts
// with a new v1 handshake on an authenticated connection.

import { ErrorCode } from "../../protocol/errors.ts";
import { SaslHandshakeApi } from "../../protocol/generated/index.ts";
import { OAuthBearerUnsecuredServer } from "../../security/oauthbearer.ts";
import { createSaslServer, type SaslServer } from "../../security/sasl.ts";
import { defineHandler } from "../handler.ts";

export default defineHandler({
  api: SaslHandshakeApi,
  minVersion: 0,
  maxVersion: SaslHandshakeApi.maxVersion,
  handle(request, ctx) {
    const session = ctx.session;
    const security = ctx.broker.security;
    const mechanisms = security?.saslMechanisms ?? [];
    if (!security || !session.usesSasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
    const illegal = session.sasl !== null || (ctx.version === 0 && session.authentications > 0);
    let server: SaslServer | undefined;
    if (mechanisms.includes(request.mechanism)) {
      server = request.mechanism === "OAUTHBEARER"
        ? new OAuthBearerUnsecuredServer(security.oauthBearer, () => ctx.broker.clock.nowMs())
        : createSaslServer(request.mechanism, security.credentials);
    }
    if (illegal || !server) {
      ctx.onDone(() => session.closeConnection(illegal ? "SaslHandshake in the wrong state" : `SASL mechanism ${request.mechanism} not enabled`));
      return { errorCode: illegal ? ErrorCode.ILLEGAL_SASL_STATE : ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [...mechanisms] };
    }
    session.sasl = server;
    session.rawSaslTokens = ctx.version === 0;
    return { errorCode: ErrorCode.NONE, mechanisms: [...mechanisms] };
  },
});
