// The node as a process: it prints where it listens, answers /health over HTTP/1.1 and cleartext
// HTTP/2 on the HTTP port, and shuts down cleanly (exit 0) on SIGTERM and on SIGINT.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnLines } from "../../src/testing/processes.ts";

const main = resolve(import.meta.dir, "../../src/main.ts");

async function startNode() {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-http-"));
  const child = spawnLines([process.execPath, main, "--data-dir", dataDir, "--kafka-port", "0", "--http-port", "0"], {
    env: { RUNNEL_LOG_LEVEL: "warn" },
  });
  const kafkaLine = await child.waitForLine((line) => line.startsWith("kafka listening on "));
  const httpLine = await child.waitForLine((line) => line.startsWith("http listening on "));
  const httpAddress = httpLine.slice("http listening on ".length);
  return { child, dataDir, kafkaLine, httpAddress };
}

function http2Get(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const session = connect(`http://${address}`);
    session.on("error", reject);
    const request = session.request({ ":path": path });
    let status = 0;
    let body = "";
    request.on("response", (headers) => (status = Number(headers[":status"])));
    request.setEncoding("utf8");
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      session.close();
      resolvePromise({ status, body });
    });
    request.on("error", reject);
    request.end();
  });
}

describe("node process", () => {
  test("prints both listeners; /health answers over HTTP/1.1 and h2c; SIGTERM exits 0", async () => {
    const node = await startNode();
    try {
      expect(node.kafkaLine).toMatch(/^kafka listening on 127\.0\.0\.1:\d+$/);
      expect(node.httpAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      const response = await fetch(`http://${node.httpAddress}/health`);
      expect(response.status).toBe(200);
      const health = (await response.json()) as { status: string; nodeId: number; clusterId: string };
      expect(health.status).toBe("ok");
      expect(health.nodeId).toBe(1);
      expect(health.clusterId.length).toBe(22);
      const h2 = await http2Get(node.httpAddress, "/health");
      expect(h2.status).toBe(200);
      expect(JSON.parse(h2.body).status).toBe("ok");
      expect((await fetch(`http://${node.httpAddress}/nope`)).status).toBe(404);
      node.child.process.kill("SIGTERM");
      expect(await node.child.exited).toBe(0);
      expect(node.child.lines).toContain("runnel stopped");
    } finally {
      node.child.process.kill("SIGKILL");
      rmSync(node.dataDir, { recursive: true, force: true });
    }
  });

  test("SIGINT also shuts down cleanly", async () => {
    const node = await startNode();
    try {
      node.child.process.kill("SIGINT");
      expect(await node.child.exited).toBe(0);
      expect(node.child.lines).toContain("runnel stopped");
    } finally {
      node.child.process.kill("SIGKILL");
      rmSync(node.dataDir, { recursive: true, force: true });
    }
  });
});
