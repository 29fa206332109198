// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka serves them: the server side of
// one exchange, the credential derivation Kafka stores (salt, StoredKey, ServerKey, iterations —
// never the password or the salted password), and the client side (tests, the CLI).
//
//   client-first   n,,n=alice,r=<client nonce>
//   server-first   r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//   client-final   c=biws,r=<client nonce><server nonce>,p=<proof>
//   server-final   v=<server signature>
//
// Checks (each failure ends the exchange with the same message, so that a client cannot tell an
// unknown user from a wrong password):
//   - the gs2 header is "n,," or "y,," (no channel binding, no authzid other than the user), and the
//     client-final's channel binding c= repeats it exactly;
//   - the client-final's nonce equals the combined nonce of this exchange: a replayed or forged
//     client-final carries another nonce (CVE-2024-56128 was a broker that did not compare it);
//     old librdkafka's doubled client nonce is the one other form accepted (see final());
//   - the proof verifies against the stored key, compared in constant time;
//   - an unknown user gets a server-first with a fake salt derived from a per-process secret, and
//     fails at the proof like a wrong password.

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { assert } from "../util/assert.ts";

export type ScramMechanismName = "SCRAM-SHA-256" | "SCRAM-SHA-512";

export interface ScramMechanism {
  readonly name: ScramMechanismName;
  /** Kafka's ScramMechanism id (UserScramCredentialRecord, KIP-554): 1 SHA-256, 2 SHA-512. */
  readonly id: 1 | 2;
  readonly hash: "sha256" | "sha512";
  readonly keyBytes: number;
  /** Kafka's bounds on iterations. */
  readonly minIterations: number;
}

export const scramMechanisms: readonly ScramMechanism[] = [
  { name: "SCRAM-SHA-256", id: 1, hash: "sha256", keyBytes: 32, minIterations: 4096 },
  { name: "SCRAM-SHA-512", id: 2, hash: "sha512", keyBytes: 64, minIterations: 4096 },
];
/** Kafka refuses more (AlterUserScramCredentials: UNACCEPTABLE_CREDENTIAL). */
export const scramIterationsMax = 16384;

export function scramMechanismByName(name: string): ScramMechanism | undefined {
  return scramMechanisms.find((mechanism) => mechanism.name === name);
}

export function scramMechanismById(id: number): ScramMechanism | undefined {
  return scramMechanisms.find((mechanism) => mechanism.id === id);
}

/** What Kafka stores per user and mechanism. */
export interface ScramCredential {
  readonly mechanism: 1 | 2;
  readonly salt: Uint8Array;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly iterations: number;
}

const hmac = (hash: string, key: Uint8Array, data: Uint8Array | string): Buffer => createHmac(hash, key).update(data).digest();
const digest = (hash: string, data: Uint8Array): Buffer => createHash(hash).update(data).digest();

/** SaltedPassword = Hi(password, salt, i) (PBKDF2 with HMAC), off the event loop. */
export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    pbkdf2(password.normalize("NFKC"), salt, iterations, mechanism.keyBytes, mechanism.hash, (error, key) => (error ? reject(error) : resolve(key))));
}

/** StoredKey and ServerKey from a salted password (AlterUserScramCredentials sends the salted password, not the password). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, salt: Uint8Array, salted: Uint8Array, iterations: number): ScramCredential {
  assert(salted.length === mechanism.keyBytes, () => `${mechanism.name}: a salted password has ${mechanism.keyBytes} bytes, not ${salted.length}`);
  const clientKey = hmac(mechanism.hash, salted, "Client Key");
  return {
    mechanism: mechanism.id,
    salt: new Uint8Array(salt),
    storedKey: new Uint8Array(digest(mechanism.hash, clientKey)),
    serverKey: new Uint8Array(hmac(mechanism.hash, salted, "Server Key")),
    iterations,
  };
}

export async function credentialFromPassword(mechanism: ScramMechanism, password: string, iterations = 8192, salt: Uint8Array = randomBytes(32)): Promise<ScramCredential> {
  return credentialFromSaltedPassword(mechanism, salt, await saltedPassword(mechanism, password, salt, iterations), iterations);
}

/** Whether `password` is the one the credential was made from (SASL/PLAIN and HTTP Basic check passwords this way). */
export async function passwordMatches(credential: ScramCredential, password: string): Promise<boolean> {
  const mechanism = scramMechanismById(credential.mechanism);
  assert(mechanism !== undefined, `unknown SCRAM mechanism id ${credential.mechanism}`);
  const salted = await saltedPassword(mechanism, password, credential.salt, credential.iterations);
  const storedKey = digest(mechanism.hash, hmac(mechanism.hash, salted, "Client Key"));
  return storedKey.length === credential.storedKey.length && timingSafeEqual(storedKey, credential.storedKey);
}

export class ScramError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "ScramError";
  }
}

/** SCRAM attributes "a=value,b=value" in order; values may contain '=' but not ','. */
function parseAttributes(text: string): [string, string][] {
  return text.split(",").map((part) => {
    if (part.length < 2 || part[1] !== "=" || !/^[A-Za-z]$/.test(part[0]!)) throw new ScramError(`malformed attribute "${part.slice(0, 40)}"`);
    return [part[0]!, part.slice(2)] as [string, string];
  });
}

/** saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed. */
function decodeSaslName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw new ScramError("malformed user name");
  return text.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

export function encodeSaslName(name: string): string {
  return name.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

const printableNonce = /^[\x21-\x2b\x2d-\x7e]+$/;

/** Looks up a user's credential for this mechanism (undefined: unknown user). */
export type CredentialLookup = (user: string) => ScramCredential | undefined;

/** A per-process secret: unknown users get stable fake salts that reveal nothing. */
const fakeSaltSecret = randomBytes(32);

/**
 * The server side of one SCRAM exchange: `step(clientFirst)` → server-first, `step(clientFinal)` →
 * server-final and the authenticated user. Any failure throws ScramError; the exchange is then
 * over (a further step throws too).
 */
export class ScramServer {
  private state: "first" | "final" | "done" | "failed" = "first";
  private gs2Header = "";
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";
  private clientNonce = "";
  private user = "";
  private credential: ScramCredential | undefined;
  /** Set once the exchange succeeded. */
  authenticatedUser: string | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: CredentialLookup,
    /** The server's part of the nonce (tests inject RFC 7677's). */
    private readonly serverNonce: () => string = () => randomBytes(24).toString("base64url"),
  ) {}

  get isComplete(): boolean {
    return this.state === "done";
  }

  step(message: Uint8Array): Uint8Array {
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(message);
      if (this.state === "first") return new TextEncoder().encode(this.first(text));
      if (this.state === "final") return new TextEncoder().encode(this.final(text));
      throw new ScramError(`no step expected (${this.state})`);
    } catch (error) {
      this.state = "failed";
      throw error instanceof ScramError ? error : new ScramError(String(error));
    }
  }

  private first(text: string): string {
    const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!match) throw new ScramError("client-first message: bad gs2 header (channel binding is not supported)");
    this.gs2Header = `${match[1]},${match[2] ?? ""},`;
    this.clientFirstBare = match[3]!;
    const attributes = parseAttributes(this.clientFirstBare);
    if (attributes[0]?.[0] === "m") throw new ScramError("client-first message: mandatory extension not supported");
    const [nameKey, encodedName] = attributes[0] ?? [];
    const [nonceKey, clientNonce] = attributes[1] ?? [];
    if (nameKey !== "n" || nonceKey !== "r" || !encodedName || !clientNonce) throw new ScramError("client-first message: n= and r= expected");
    if (!printableNonce.test(clientNonce)) throw new ScramError("client-first message: bad nonce");
    this.user = decodeSaslName(encodedName);
    if (match[2] !== undefined && decodeSaslName(match[2].slice(2)) !== this.user) throw new ScramError("authorization id differs from the user");
    this.credential = this.lookup(this.user);
    const salt = this.credential?.salt ?? hmac("sha256", fakeSaltSecret, `${this.mechanism.name}:${this.user}`);
    const iterations = this.credential?.iterations ?? 8192;
    this.clientNonce = clientNonce;
    this.nonce = clientNonce + this.serverNonce();
    this.serverFirst = `r=${this.nonce},s=${Buffer.from(salt).toString("base64")},i=${iterations}`;
    this.state = "final";
    return this.serverFirst;
  }

  private final(text: string): string {
    const proofAt = text.lastIndexOf(",p=");
    if (proofAt < 0) throw new ScramError("client-final message: no proof");
    const withoutProof = text.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    const [bindingKey, binding] = attributes[0] ?? [];
    const [nonceKey, nonce] = attributes[1] ?? [];
    if (bindingKey !== "c" || nonceKey !== "r") throw new ScramError("client-final message: c= and r= expected");
    if (Buffer.from(binding ?? "", "base64").toString("latin1") !== this.gs2Header) throw new ScramError("client-final message: channel binding differs from the gs2 header");
    // The exchange's own nonce, exactly: a replayed client-final (another exchange's nonce) stops here.
    // librdkafka before 2.6.1 sends its client nonce twice (client nonce + the combined nonce);
    // Kafka 3.8.1-3.9 accepted it, Kafka 4 refuses it. That exact form is accepted here too (the
    // kcat and confluent-kafka-python of Debian 12 send it): it is still this exchange's nonce.
    if (nonce !== this.nonce && nonce !== this.clientNonce + this.nonce) throw new ScramError("client-final message: nonce does not match");
    const proof = Buffer.from(text.slice(proofAt + 3), "base64");
    const credential = this.credential;
    if (!credential || proof.length !== credential.storedKey.length) throw new ScramError("invalid credentials");
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.mechanism.hash, credential.storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let index = 0; index < proof.length; index++) clientKey[index] = proof[index]! ^ clientSignature[index]!;
    const computed = digest(this.mechanism.hash, clientKey);
    if (!timingSafeEqual(computed, credential.storedKey)) throw new ScramError("invalid credentials");
    this.state = "done";
    this.authenticatedUser = this.user;
    return `v=${hmac(this.mechanism.hash, credential.serverKey, authMessage).toString("base64")}`;
  }
}

/** The client side of one exchange (tests, the CLI). */
export class ScramClient {
  private readonly clientNonce = randomBytes(18).toString("base64url");
  private clientFirstBare = "";
  private serverSignature: Buffer | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly user: string,
    private readonly password: string,
  ) {}

  first(): Uint8Array {
    this.clientFirstBare = `n=${encodeSaslName(this.user)},r=${this.clientNonce}`;
    return new TextEncoder().encode(`n,,${this.clientFirstBare}`);
  }

  async final(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const serverFirst = new TextDecoder().decode(serverFirstBytes);
    const attributes = new Map(parseAttributes(serverFirst));
    const nonce = attributes.get("r");
    const salt = Buffer.from(attributes.get("s") ?? "", "base64");
    const iterations = Number(attributes.get("i"));
    if (!nonce?.startsWith(this.clientNonce) || salt.length === 0 || !Number.isInteger(iterations)) throw new ScramError("bad server-first message");
    const salted = await saltedPassword(this.mechanism, this.password, salt, iterations);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(this.mechanism.hash, salted, "Client Key");
    const storedKey = digest(this.mechanism.hash, clientKey);
    const signature = hmac(this.mechanism.hash, storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let index = 0; index < proof.length; index++) proof[index] = clientKey[index]! ^ signature[index]!;
    this.serverSignature = hmac(this.mechanism.hash, hmac(this.mechanism.hash, salted, "Server Key"), authMessage);
    return new TextEncoder().encode(`${withoutProof},p=${proof.toString("base64")}`);
  }

  /** Checks the server's signature (the server knew the credential). */
  verify(serverFinalBytes: Uint8Array): void {
    const text = new TextDecoder().decode(serverFinalBytes);
    const expected = `v=${this.serverSignature?.toString("base64")}`;
    if (this.serverSignature === null || text !== expected) throw new ScramError("server signature does not verify");
  }
}
