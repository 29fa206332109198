// bootstrap.scram.users: the first users of a cluster whose every listener needs a password, in
// the syntax of Kafka's `kafka-storage format --add-scram`:
//
//   SCRAM-SHA-256=[name=admin,password=admin-secret];SCRAM-SHA-512=[name=admin,password=admin-secret,iterations=8192]
//
// At start, each entry whose user has no credential for that mechanism yet is written to the
// metadata log (UserScramCredentialRecord); an existing credential is never overwritten, so the
// key can stay in the config after the password was changed with `runnel users`. Until the
// metadata a node has holds a bootstrap user's credential, the node accepts it from the config
// (`bootstrapCredentials`): the nodes of a cluster log in to each other's SASL internal listener
// before any metadata has replicated (as Kafka's format-time --add-scram users exist from the start).

import { randomBytes } from "node:crypto";
import { ConfigError } from "../config/parse.ts";
import { credentialFromSaltedPassword, saltedPassword, scramIterationsMax, scramMechanismByName, type ScramCredential, type ScramMechanism } from "./scram.ts";

export interface BootstrapUser {
  mechanism: ScramMechanism;
  name: string;
  password: string;
  iterations: number;
}

const key = "bootstrap.scram.users";

export function parseBootstrapUsers(text: string): BootstrapUser[] {
  const users: BootstrapUser[] = [];
  for (const entry of text.split(";").map((item) => item.trim()).filter((item) => item.length > 0)) {
    const match = /^([A-Z0-9-]+)=\[(.*)\]$/.exec(entry);
    const mechanism = match ? scramMechanismByName(match[1]!) : undefined;
    if (!match || !mechanism) throw new ConfigError(key, `"${entry.replace(/password=[^,\]]*/, "password=…")}" is not SCRAM-SHA-256|SCRAM-SHA-512=[name=…,password=…]`);
    const fields = new Map<string, string>();
    for (const part of match[2]!.split(",")) {
      const equals = part.indexOf("=");
      if (equals <= 0) throw new ConfigError(key, `"${part.startsWith("password") ? "password=…" : part}" is not field=value`);
      fields.set(part.slice(0, equals).trim(), part.slice(equals + 1));
    }
    const name = fields.get("name");
    const password = fields.get("password");
    const iterations = Number(fields.get("iterations") ?? 8192);
    if (!name || !password) throw new ConfigError(key, "each entry needs name= and password=");
    if (!Number.isInteger(iterations) || iterations < mechanism.minIterations || iterations > scramIterationsMax) {
      throw new ConfigError(key, `iterations must be ${mechanism.minIterations}..${scramIterationsMax}`);
    }
    users.push({ mechanism, name, password, iterations });
  }
  return users;
}

/** The AlterUserScramCredentials upsertion of a bootstrap user (a fresh salt each time). */
export async function upsertionOf(user: BootstrapUser): Promise<{ name: string; mechanism: number; iterations: number; salt: Uint8Array; saltedPassword: Uint8Array }> {
  const salt = new Uint8Array(randomBytes(32));
  return { name: user.name, mechanism: user.mechanism.id, iterations: user.iterations, salt, saltedPassword: await saltedPassword(user.mechanism, user.password, salt, user.iterations) };
}

/** The bootstrap users' credentials by user name, as the SASL server checks them (a fresh salt). */
export async function bootstrapCredentials(users: readonly BootstrapUser[]): Promise<Map<string, ScramCredential[]>> {
  const credentials = new Map<string, ScramCredential[]>();
  for (const user of users) {
    const upsertion = await upsertionOf(user);
    const credential = credentialFromSaltedPassword(user.mechanism, upsertion.salt, upsertion.saltedPassword, user.iterations);
    credentials.set(user.name, [...(credentials.get(user.name) ?? []), credential]);
  }
  return credentials;
}
