// SASL/OAUTHBEARER (RFC 7628, KIP-255) with Kafka's default validator for unsecured JWS tokens
// (OAuthBearerUnsecuredValidatorCallbackHandler): the token is `header.payload.` with
// {"alg":"none"}, and is believed as it stands — for development and tests only, as in Kafka, and
// only offered when sasl.enabled.mechanisms names OAUTHBEARER.
//
// The client's one message: "n,[a=authzid]," ^A "auth=Bearer <token>" ^A [key=value ^A …] ^A.
// Checks, as Kafka's validator: alg "none" and an empty signature; the principal claim
// (unsecuredValidatorPrincipalClaimName, default "sub") a non-empty string; "exp" a number of
// seconds not in the past, "iat" (when present) not in the future, both within
// unsecuredValidatorAllowableClockSkewMs; unsecuredValidatorRequiredScope names scopes the "scope"
// claim must hold; an authzid, when given, equal to the principal. A refused token gets Kafka's
// error challenge ({"status":"invalid_token"}) and the client's ^A ends the exchange in failure.
// The options are read from sasl.jaas.config (Kafka's place for them).

import { SaslFailure, type SaslServer, type SaslStep } from "./sasl.ts";

export interface UnsecuredValidatorOptions {
  principalClaimName: string;
  scopeClaimName: string;
  requiredScope: readonly string[];
  allowableClockSkewMs: number;
}

export const defaultUnsecuredValidatorOptions: UnsecuredValidatorOptions = {
  principalClaimName: "sub", scopeClaimName: "scope", requiredScope: [], allowableClockSkewMs: 0,
};

/** Kafka's unsecuredValidator* JAAS options from a sasl.jaas.config text (absent ones keep the defaults). */
export function unsecuredValidatorOptionsOf(jaas: string | null): UnsecuredValidatorOptions {
  const option = (name: string): string | undefined => (jaas === null ? undefined : new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`).exec(jaas)?.[1]);
  const skew = Number(option("unsecuredValidatorAllowableClockSkewMs") ?? 0);
  return {
    principalClaimName: option("unsecuredValidatorPrincipalClaimName") || "sub",
    scopeClaimName: option("unsecuredValidatorScopeClaimName") || "scope",
    requiredScope: (option("unsecuredValidatorRequiredScope") ?? "").split(/[\s,]+/).filter((scope) => scope !== ""),
    allowableClockSkewMs: Number.isFinite(skew) && skew >= 0 ? skew : 0,
  };
}

class InvalidToken extends Error {}

function base64UrlJson(part: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new InvalidToken(`${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new InvalidToken(`${what} is not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidToken(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** The principal of a valid unsecured token, and when it expires (ms since the epoch); InvalidToken otherwise. */
export function validateUnsecuredToken(token: string, options: UnsecuredValidatorOptions, nowMs: number): { principal: string; expiresAtMs: number } {
  const parts = token.split(".");
  if (parts.length !== 3) throw new InvalidToken("not a compact JWS (header.payload.signature)");
  const header = base64UrlJson(parts[0]!, "the header");
  if (header.alg !== "none") throw new InvalidToken(`alg is ${JSON.stringify(header.alg)}, not "none" (an unsecured token)`);
  if (parts[2] !== "") throw new InvalidToken("an unsecured token has an empty signature");
  const claims = base64UrlJson(parts[1]!, "the payload");
  const principal = claims[options.principalClaimName];
  if (typeof principal !== "string" || principal.trim() === "") throw new InvalidToken(`no string claim ${options.principalClaimName}`);
  const expiration = claims.exp;
  if (typeof expiration !== "number" || !Number.isFinite(expiration)) throw new InvalidToken("no numeric exp claim");
  const expiresAtMs = expiration * 1000;
  if (nowMs - options.allowableClockSkewMs >= expiresAtMs) throw new InvalidToken("the token has expired");
  const issuedAt = claims.iat;
  if (issuedAt !== undefined) {
    if (typeof issuedAt !== "number" || !Number.isFinite(issuedAt)) throw new InvalidToken("iat is not a number");
    if (issuedAt * 1000 > nowMs + options.allowableClockSkewMs) throw new InvalidToken("the token was issued in the future");
  }
  if (options.requiredScope.length > 0) {
    const scopeClaim = claims[options.scopeClaimName];
    const scopes = typeof scopeClaim === "string" ? scopeClaim.split(" ") : Array.isArray(scopeClaim) ? scopeClaim.map(String) : [];
    const missing = options.requiredScope.filter((scope) => !scopes.includes(scope));
    if (missing.length > 0) throw new InvalidToken(`missing scope ${missing.join(", ")}`);
  }
  return { principal, expiresAtMs };
}

/** authzid and the key-value pairs of the client's first message; InvalidToken when malformed. */
function parseClientMessage(message: Uint8Array): { authorizationId: string | null; token: string } {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(message);
  const separator = "\u0001";
  const match = /^n,(?:a=([^,]*))?,\u0001(.*)\u0001\u0001$/s.exec(text);
  if (!match) throw new InvalidToken("the message is not an RFC 7628 client response");
  const pairs = new Map<string, string>();
  for (const pair of match[2]!.split(separator)) {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new InvalidToken("a key-value pair without a key");
    pairs.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  const auth = pairs.get("auth");
  const bearer = auth === undefined ? null : /^Bearer +(\S+)$/i.exec(auth);
  if (!bearer) throw new InvalidToken("no auth=Bearer <token>");
  return { authorizationId: match[1] === undefined || match[1] === "" ? null : match[1], token: bearer[1]! };
}

export class OAuthBearerUnsecuredServer implements SaslServer {
  readonly mechanism = "OAUTHBEARER";
  /** Set after a refused token: the client's ^A ends the exchange. */
  private refusal: string | null = null;
  private done = false;

  constructor(private readonly options: UnsecuredValidatorOptions, private readonly nowMs: () => number) {}

  async step(message: Uint8Array): Promise<SaslStep> {
    if (this.done) throw new SaslFailure("Unexpected SASL message", "OAUTHBEARER exchange already over");
    if (this.refusal !== null) {
      this.done = true;
      throw new SaslFailure(`Authentication failed: ${this.refusal}`, this.refusal);
    }
    try {
      const { authorizationId, token } = parseClientMessage(message);
      const { principal, expiresAtMs } = validateUnsecuredToken(token, this.options, this.nowMs());
      if (authorizationId !== null && authorizationId !== principal) throw new InvalidToken(`authzid ${authorizationId} is not the token's principal ${principal}`);
      this.done = true;
      return { response: new Uint8Array(0), user: principal, expiresAtMs };
    } catch (error) {
      if (!(error instanceof InvalidToken)) throw error;
      // Kafka's answer to a bad token: an error challenge, then failure on the client's ^A.
      this.refusal = `invalid_token: ${error.message}`;
      return { response: new TextEncoder().encode(JSON.stringify({ status: "invalid_token" })), user: null };
    }
  }
}
