// Who is on the other end of one Kafka connection: its listener and security protocol, its
// principal, and where its SASL exchange stands. The listener creates one per connection; the
// TLS handshake (mutual TLS) or SaslAuthenticate sets the principal.
//
//   SASL listener:  new ──SaslHandshake──▶ mechanism chosen ──SaslAuthenticate…──▶ authenticated
//                    │ (only ApiVersions, SaslHandshake, SaslAuthenticate until then; anything
//                    │  else closes the connection, as Kafka does)
//                    └─ a failed step: answered SASL_AUTHENTICATION_FAILED after
//                       connection.failed.authentication.delay.ms, then the connection closes
//   authenticated ──(connections.max.reauth.ms passed)──▶ only a re-authentication is served
//
// Other listeners start authenticated (User:ANONYMOUS, or the certificate's principal).

import type { SecurityProtocol } from "../config/index.ts";
import { usesSasl } from "../config/index.ts";
import type { SaslServer } from "../security/sasl.ts";

export const anonymousPrincipal = "User:ANONYMOUS";

export class Session {
  principal = anonymousPrincipal;
  /** True once SASL succeeded (always on listeners without SASL). */
  authenticated: boolean;
  /** The exchange in progress, set by SaslHandshake. */
  sasl: SaslServer | null = null;
  /** SaslHandshake v0: the next frames are bare SASL tokens, not Kafka requests. */
  rawSaslTokens = false;
  /** When the SASL session expires (connections.max.reauth.ms), ms since the epoch; null: never. */
  expiresAtMs: number | null = null;
  /** Set when authentication failed: nothing more is served, the connection is closing. */
  failed = false;
  /** Successful SASL authentications on this connection (the first, then re-authentications). */
  authentications = 0;

  constructor(
    readonly listenerName: string,
    readonly securityProtocol: SecurityProtocol,
    readonly remoteHost: string,
    /** Closes the connection once what was already answered is written. */
    readonly closeConnection: (reason: string) => void,
    /** Reads nothing more from the connection for this long (quota throttling); responses still go out. */
    readonly muteConnection: (ms: number) => void = () => {},
  ) {
    this.authenticated = !usesSasl(securityProtocol);
  }

  get usesSasl(): boolean {
    return usesSasl(this.securityProtocol);
  }

  isExpired(nowMs: number): boolean {
    return this.expiresAtMs !== null && nowMs >= this.expiresAtMs;
  }
}

/** A session for contexts with no connection security (tests that build contexts by hand). */
export function plaintextSession(remoteHost = "127.0.0.1"): Session {
  return new Session("PLAINTEXT", "PLAINTEXT", remoteHost, () => {});
}
