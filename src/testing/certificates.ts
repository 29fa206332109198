// Test certificates (tests and bench/) made at run time with openssl (scripts/setup.sh installs it): nothing private
// is committed. One directory per call, removed by `cleanup()`:
//   ca.pem / ca.key              the trusted test CA
//   server.pem + server.key      localhost / 127.0.0.1, signed by the CA; keystore.pem = key + chain
//   alice.pem + alice.key        a client certificate CN=alice,OU=eng,O=Acme (RFC 2253 order) signed by the CA
//   expired.pem + expired.key    a client certificate of the CA valid only in 2020
//   rogue.pem + rogue.key        a client certificate of another CA (untrusted)
//   rogue-ca.pem                 that other CA

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCertificates {
  dir: string;
  path(name: string): string;
  read(name: string): string;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  const result = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${result.stderr.toString()}`);
}

function selfSignedCa(dir: string, name: string, subject: string): void {
  openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", subject]);
}

function signed(dir: string, name: string, subject: string, ca: string, extensions?: string): void {
  openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  const args = ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2"];
  if (extensions) {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    args.push("-extfile", `${name}.ext`);
  }
  openssl(dir, args);
}

/** A certificate of `ca` that expired in 2020 (openssl ca takes explicit dates). */
function expired(dir: string, name: string, subject: string, ca: string): void {
  openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "1000\n");
  writeFileSync(join(dir, "ca.cnf"), [
    "[ ca ]", "default_ca = test_ca", "[ test_ca ]", "database = index.txt", "new_certs_dir = .", "serial = serial",
    "default_md = sha256", "policy = any", "unique_subject = no", "[ any ]", "commonName = supplied", "organizationalUnitName = optional", "organizationName = optional", "",
  ].join("\n"));
  openssl(dir, ["ca", "-batch", "-config", "ca.cnf", "-cert", `${ca}.pem`, "-keyfile", `${ca}.key`, "-in", `${name}.csr`, "-out", `${name}.pem`,
    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext"]);
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "runnel-certs-"));
  selfSignedCa(dir, "ca", "/CN=Runnel Test CA");
  signed(dir, "server", "/CN=localhost", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  signed(dir, "alice", "/O=Acme/OU=eng/CN=alice", "ca");
  expired(dir, "expired", "/O=Acme/OU=eng/CN=old", "ca");
  selfSignedCa(dir, "rogue-ca", "/CN=Rogue CA");
  signed(dir, "rogue", "/O=Acme/OU=eng/CN=mallory", "rogue-ca");
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  writeFileSync(join(dir, "keystore.pem"), read("server.key") + read("server.pem"));
  return {
    dir,
    path: (name) => join(dir, name),
    read,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
