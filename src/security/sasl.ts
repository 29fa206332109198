// The SASL mechanisms a listener offers, behind one interface the Kafka handlers drive
// (SaslHandshake picks one, each SaslAuthenticate is one step):
//   - PLAIN (RFC 4616): "authzid NUL user NUL password" in one message; the password is checked
//     against the user's SCRAM credentials (one user store for every mechanism: Runnel keeps no
//     clear-text or separately hashed passwords). The authzid must be empty or the user, as Kafka.
//   - SCRAM-SHA-256 / SCRAM-SHA-512 (scram.ts): two steps.
//   - OAUTHBEARER with unsecured tokens (oauthbearer.ts; the Kafka handshake handler creates it).
// Every failure is a SaslFailure with the message Kafka clients show; the reason stays in the log.

import { passwordMatches, ScramError, scramMechanismByName, scramMechanisms, ScramServer, type ScramCredential } from "./scram.ts";

export const saslMechanismsSupported = ["PLAIN", ...scramMechanisms.map((mechanism) => mechanism.name), "OAUTHBEARER"] as const;

/** The user's credentials, all mechanisms (empty: unknown user). */
export type UserCredentials = (user: string) => readonly ScramCredential[];

export class SaslFailure extends Error {
  constructor(
    /** What the client is told (Kafka's wording). */
    readonly clientMessage: string,
    /** What the broker logs. */
    readonly reason: string,
    /** The user the client claimed, when it got that far (for the log). */
    readonly user: string | null = null,
  ) {
    super(reason);
    this.name = "SaslFailure";
  }
}

export interface SaslStep {
  response: Uint8Array;
  /** Set when the exchange succeeded: the authenticated user name. */
  user: string | null;
  /** When the credential expires (OAUTHBEARER's token), ms since the epoch; the session lives no longer. */
  expiresAtMs?: number;
}

export interface SaslServer {
  readonly mechanism: string;
  step(message: Uint8Array): Promise<SaslStep>;
}

function invalidCredentials(mechanism: string, reason: string, user: string | null): SaslFailure {
  return new SaslFailure(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`, reason, user);
}

class PlainServer implements SaslServer {
  readonly mechanism = "PLAIN";
  private done = false;

  constructor(private readonly credentials: UserCredentials) {}

  async step(message: Uint8Array): Promise<SaslStep> {
    if (this.done) throw new SaslFailure("Unexpected SASL message", "PLAIN takes one message");
    this.done = true;
    const text = new TextDecoder("utf-8", { fatal: false }).decode(message);
    const parts = text.split("\0");
    if (parts.length !== 3) throw invalidCredentials(this.mechanism, "PLAIN message is not authzid NUL user NUL password", null);
    const [authorizationId, user, password] = parts as [string, string, string];
    if (user === "" || password === "") throw invalidCredentials(this.mechanism, "PLAIN: empty user or password", user || null);
    if (authorizationId !== "" && authorizationId !== user) {
      throw new SaslFailure("Authentication failed: Client requested an authorization id that is different from username", "PLAIN: authzid differs from the user", user);
    }
    for (const credential of this.credentials(user)) {
      if (await passwordMatches(credential, password)) return { response: new Uint8Array(0), user };
    }
    throw invalidCredentials(this.mechanism, this.credentials(user).length === 0 ? "unknown user" : "wrong password", user);
  }
}

class ScramSaslServer implements SaslServer {
  private readonly server: ScramServer;

  constructor(readonly mechanism: string, credentials: UserCredentials) {
    const scram = scramMechanismByName(mechanism)!;
    this.server = new ScramServer(scram, (user) => credentials(user).find((credential) => credential.mechanism === scram.id));
  }

  async step(message: Uint8Array): Promise<SaslStep> {
    try {
      const response = this.server.step(message);
      return { response, user: this.server.authenticatedUser };
    } catch (error) {
      const reason = error instanceof ScramError ? error.message : String(error);
      throw invalidCredentials(this.mechanism, reason, null);
    }
  }
}

/** A server for `mechanism`, or undefined when it is not one Runnel implements. */
export function createSaslServer(mechanism: string, credentials: UserCredentials): SaslServer | undefined {
  if (mechanism === "PLAIN") return new PlainServer(credentials);
  if (scramMechanismByName(mechanism)) return new ScramSaslServer(mechanism, credentials);
  return undefined;
}
