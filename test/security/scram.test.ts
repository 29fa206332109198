// SCRAM (src/security/scram.ts): RFC 7677's SCRAM-SHA-256 example exchange byte for byte, both
// mechanisms end to end, and the refusals: a wrong password, an unknown user (indistinguishable
// until the proof), a client-final replayed into another exchange, a forged nonce, a channel
// binding that differs from the gs2 header, garbage and truncated messages, steps out of order.

import { describe, expect, test } from "bun:test";
import {
  credentialFromSaltedPassword, credentialFromPassword, passwordMatches, saltedPassword, ScramClient, ScramError, scramMechanismByName, ScramServer,
} from "../../src/security/scram.ts";

const sha256 = scramMechanismByName("SCRAM-SHA-256")!;
const sha512 = scramMechanismByName("SCRAM-SHA-512")!;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (value: string) => new TextEncoder().encode(value);

test("RFC 7677's example: the server answers and verifies exactly as the RFC shows", async () => {
  const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
  const credential = credentialFromSaltedPassword(sha256, salt, await saltedPassword(sha256, "pencil", salt, 4096), 4096);
  const server = new ScramServer(sha256, (user) => (user === "user" ? credential : undefined), () => "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  const serverFirst = text(server.step(bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")));
  expect(serverFirst).toBe("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  const serverFinal = text(server.step(bytes("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")));
  expect(serverFinal).toBe("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  expect(server.authenticatedUser).toBe("user");
});

async function exchange(server: ScramServer, client: ScramClient): Promise<Uint8Array> {
  const serverFirst = server.step(client.first());
  const clientFinal = await client.final(serverFirst);
  client.verify(server.step(clientFinal));
  return clientFinal;
}

describe.each([sha256, sha512])("%p", (mechanism) => {
  test("the right password authenticates; the client verifies the server", async () => {
    const credential = await credentialFromPassword(mechanism, "s3cret", 4096);
    const server = new ScramServer(mechanism, (user) => (user === "alice" ? credential : undefined));
    await exchange(server, new ScramClient(mechanism, "alice", "s3cret"));
    expect(server.authenticatedUser).toBe("alice");
    expect(await passwordMatches(credential, "s3cret")).toBe(true);
    expect(await passwordMatches(credential, "s3cret ")).toBe(false);
  });

  test("a wrong password and an unknown user fail at the proof, with the same message", async () => {
    const credential = await credentialFromPassword(mechanism, "s3cret", 4096);
    const lookup = (user: string) => (user === "alice" ? credential : undefined);
    const messages: string[] = [];
    for (const [user, password] of [["alice", "wrong"], ["nobody", "s3cret"]] as const) {
      const server = new ScramServer(mechanism, lookup);
      const serverFirst = server.step(new ScramClient(mechanism, user, password).first());
      // An unknown user still gets a normal-looking server-first (a stable fake salt).
      expect(text(serverFirst)).toMatch(/^r=[^,]+,s=[A-Za-z0-9+/=]+,i=\d+$/);
      const client = new ScramClient(mechanism, user, password);
      const fresh = new ScramServer(mechanism, lookup);
      const final = await client.final(fresh.step(client.first()));
      try {
        fresh.step(final);
        throw new Error("authenticated");
      } catch (error) {
        expect(error).toBeInstanceOf(ScramError);
        messages.push((error as Error).message);
      }
      expect(fresh.authenticatedUser).toBeNull();
    }
    expect(messages[0]).toBe(messages[1]);
  });

  test("a client-final replayed into another exchange is refused (nonce), as is a forged one", async () => {
    const credential = await credentialFromPassword(mechanism, "s3cret", 4096);
    const lookup = () => credential;
    const recorded = new ScramClient(mechanism, "alice", "s3cret");
    const firstServer = new ScramServer(mechanism, lookup);
    const clientFirst = recorded.first();
    const clientFinal = await exchange(firstServer, Object.assign(recorded, { first: () => clientFirst }));
    // An attacker replays both recorded messages to a new exchange: the server's nonce differs.
    const replayed = new ScramServer(mechanism, lookup);
    replayed.step(clientFirst);
    expect(() => replayed.step(clientFinal)).toThrow(/nonce/);
    expect(replayed.authenticatedUser).toBeNull();
    // The nonce altered (the client's part only, as CVE-2024-56128's broker accepted): refused.
    const forged = new ScramServer(mechanism, lookup);
    const client = new ScramClient(mechanism, "alice", "s3cret");
    const final = text(await client.final(forged.step(client.first())));
    expect(() => forged.step(bytes(final.replace(/,r=([^,]+)/, ",r=x$1")))).toThrow(/nonce/);
  });

  test("old librdkafka's doubled client nonce is accepted (and nothing else of that shape)", async () => {
    const credential = await credentialFromPassword(mechanism, "s3cret", 4096);
    const server = new ScramServer(mechanism, () => credential);
    const client = new ScramClient(mechanism, "alice", "s3cret");
    const clientFirst = text(client.first());
    const clientNonce = /r=(.*)$/.exec(clientFirst)![1]!;
    const serverFirst = text(server.step(bytes(clientFirst)));
    const combined = /^r=([^,]+)/.exec(serverFirst)![1]!;
    // Recompute the proof over the message the buggy client sends: r=<client nonce><combined nonce>.
    const { createHash, createHmac } = await import("node:crypto");
    const salt = Buffer.from(/s=([^,]+)/.exec(serverFirst)![1]!, "base64");
    const salted = await saltedPassword(mechanism, "s3cret", salt, Number(/i=(\d+)/.exec(serverFirst)![1]));
    const withoutProof = `c=biws,r=${clientNonce}${combined}`;
    const authMessage = `${clientFirst.slice(3)},${serverFirst},${withoutProof}`;
    const clientKey = createHmac(mechanism.hash, salted).update("Client Key").digest();
    const signature = createHmac(mechanism.hash, createHash(mechanism.hash).update(clientKey).digest()).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((byte, index) => byte ^ signature[index]!));
    server.step(bytes(`${withoutProof},p=${proof.toString("base64")}`));
    expect(server.authenticatedUser).toBe("alice");
  });
});

test("bad messages end the exchange with a ScramError, never an authentication", async () => {
  const credential = await credentialFromPassword(sha256, "s3cret", 4096);
  const cases = [
    "", "garbage", "p=tls-unique,,n=alice,r=abc", "n,,", "n,,n=alice", "n,,r=abc,n=alice", "n,,m=ext,n=alice,r=abc", "n,,n=al=ice,r=abc",
    "n,a=bob,n=alice,r=abc", "n,,n=alice,r=a,b",
  ];
  for (const message of cases) {
    const server = new ScramServer(sha256, () => credential);
    expect(() => server.step(bytes(message)), message).toThrow(ScramError);
    expect(() => server.step(bytes("c=biws,r=x,p=AAAA"))).toThrow(ScramError);
    expect(server.authenticatedUser).toBeNull();
  }
  // A channel binding that differs from the gs2 header ("y,," announced, "n,," claimed).
  const server = new ScramServer(sha256, () => credential);
  const client = new ScramClient(sha256, "alice", "s3cret");
  const final = text(await client.final(server.step(bytes(`y,,${text(client.first()).slice(3)}`))));
  expect(() => server.step(bytes(final))).toThrow(/channel binding/);
  // Random bytes: never authenticated, never anything but a ScramError.
  for (let round = 0; round < 500; round++) {
    const fuzzed = new ScramServer(sha256, () => credential);
    const junk = crypto.getRandomValues(new Uint8Array(1 + (round % 64)));
    try {
      fuzzed.step(junk);
      fuzzed.step(crypto.getRandomValues(new Uint8Array(1 + (round % 90))));
    } catch (error) {
      expect(error).toBeInstanceOf(ScramError);
    }
    expect(fuzzed.authenticatedUser).toBeNull();
  }
});
