// One step of a connection's SASL exchange, shared by SaslAuthenticate (36) and the bare tokens
// that follow a SaslHandshake v0. On success the session takes the user's principal (a
// re-authentication must keep the same one, KIP-368) and, with connections.max.reauth.ms, an
// expiry. On failure the session is marked failed, the failure is logged (user, mechanism, remote
// address, reason — never a password), and the answer waits connection.failed.authentication.delay.ms
// (KIP-306: a client guessing passwords gets one guess per delay per connection); the caller then
// closes the connection once the answer is written.

import { SaslFailure } from "../security/sasl.ts";
import type { BrokerContext } from "./context.ts";
import type { Session } from "./session.ts";
import { LogLimiter } from "../util/log-limiter.ts";

/** Failed logins logged per second at most (the rest are counted into the next line). */
const failedLoginLog = new LogLimiter(20);

export type SaslStepOutcome =
  | { kind: "continue"; response: Uint8Array }
  | { kind: "done"; response: Uint8Array; sessionLifetimeMs: number }
  | { kind: "failed"; message: string };

export async function saslStep(broker: BrokerContext, session: Session, token: Uint8Array): Promise<SaslStepOutcome> {
  const security = broker.security;
  const server = session.sasl;
  if (!security || !server) return { kind: "failed", message: "Unexpected SASL token: no SaslHandshake before it" };
  try {
    const step = await server.step(token);
    if (step.user === null) return { kind: "continue", response: step.response };
    const principal = `User:${step.user}`;
    if (session.authentications > 0 && principal !== session.principal) {
      throw new SaslFailure("Cannot change principals during re-authentication", `re-authentication as ${principal} on a session of ${session.principal}`, step.user);
    }
    session.principal = principal;
    session.authenticated = true;
    session.sasl = null;
    session.rawSaslTokens = false;
    session.authentications += 1;
    const now = broker.clock.nowMs();
    // KIP-368: with connections.max.reauth.ms the session ends then, or when the credential (an
    // OAUTHBEARER token) expires, whichever is first; without it sessions never expire (as Kafka).
    session.expiresAtMs = security.reauthMs > 0 ? Math.min(now + security.reauthMs, step.expiresAtMs ?? Number.POSITIVE_INFINITY) : null;
    broker.log.debug("authenticated", { listener: session.listenerName, remote: session.remoteHost, principal, mechanism: server.mechanism });
    return { kind: "done", response: step.response, sessionLifetimeMs: session.expiresAtMs === null ? 0 : Math.max(1, Math.floor(session.expiresAtMs - now)) };
  } catch (error) {
    const failure = error instanceof SaslFailure ? error : new SaslFailure("Authentication failed", String(error));
    session.failed = true;
    session.sasl = null;
    const leftOut = failedLoginLog.admit();
    if (leftOut !== null) {
      broker.log.warn("failed authentication", {
        listener: session.listenerName, remote: session.remoteHost, mechanism: server.mechanism, user: failure.user, reason: failure.reason,
        ...(leftOut > 0 ? { notLogged: leftOut } : {}),
      });
    }
    broker.metrics?.failedAuthentications.inc({ listener: session.listenerName });
    if (security.failedAuthenticationDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, security.failedAuthenticationDelayMs));
    return { kind: "failed", message: failure.clientMessage };
  }
}
