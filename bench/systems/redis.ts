// Redis Streams as a peer: our own redis-server on an ephemeral loopback port with AOF
// (`appendfsync everysec`, Redis's usual durable setting), driven with XADD through the bench's
// own pipelined RESP connection (resp.ts: every XADD issued in one event-loop turn goes out in
// one socket write, like redis-benchmark -P; Bun's built-in RedisClient reached only about half
// of redis-benchmark's rate) and consumed with XREAD BLOCK (Bun's client) on another connection.
//
// Each record is one stream entry with one field "v" holding the record bytes; the first 16
// bytes are the bench index in ASCII (values come back as strings), the rest random bytes.

import { RedisClient } from "bun";
import { rmSync } from "node:fs";
import type { BenchParams } from "../lib/params.ts";
import { nowMs } from "../lib/open-loop.ts";
import type { OpenLoopRecorder, OpenLoopTarget } from "../lib/open-loop.ts";
import { freePort, spawnChild } from "../lib/process.ts";
import { benchTmpDir } from "../kafka/broker.ts";
import { randomPayload } from "../kafka/producer.ts";
import type { System, Trial } from "./types.ts";
import { trialName } from "./types.ts";
import { redisIndexDigits } from "./follow.ts";
import { RespConnection } from "./resp.ts";


/** The payload with `index` in its first digits; into `value` if given (reused), else a copy. */
export function indexedValue(payload: Uint8Array, index: number, value: Uint8Array = payload.slice()): Uint8Array {
  if (value !== payload) value.set(payload);
  const digits = String(index).padStart(redisIndexDigits, "0");
  for (let position = 0; position < redisIndexDigits; position++) value[position] = digits.charCodeAt(position);
  return value;
}

const referenceCommands = 200_000;

class RedisTarget implements OpenLoopTarget {
  recorder: OpenLoopRecorder | null = null;
  private outstanding = 0;
  private next = 0;
  private waiters: Array<() => void> = [];
  private readonly scratch: Uint8Array; // send() copies the value out at once, so one buffer serves
  constructor(private readonly clients: RespConnection[], private readonly stream: string, private readonly payload: Uint8Array) {
    this.scratch = payload.slice();
  }

  send(first: number, count: number): void {
    for (let index = first; index < first + count; index++) {
      const client = this.clients[this.next]!;
      this.next = (this.next + 1) % this.clients.length;
      this.outstanding += 1;
      client.send(["XADD", this.stream, "*", "v", indexedValue(this.payload, index, this.scratch)], (ok) => this.done(index, ok));
    }
  }

  private done(index: number, ok: boolean): void {
    this.outstanding -= 1;
    if (ok) this.recorder?.ack(index, 1, nowMs());
    else this.recorder?.fail(index, 1);
    if (this.outstanding === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  tick(): void {}
  backlog(): number {
    return this.outstanding;
  }
  settle(timeoutMs: number): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => (clearTimeout(timer), resolve()));
    });
  }
}

export async function startRedis(params: BenchParams, appendfsync: "everysec" | "always" = "everysec", connections = params.producers): Promise<System & { port: number }> {
  const dir = benchTmpDir("redis");
  const port = freePort();
  const child = await spawnChild({
    cmd: ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", appendfsync, "--dir", dir, "--save", "", "--daemonize", "no", "--protected-mode", "no"],
    ready: /Ready to accept connections/,
    readyTimeoutMs: 10_000,
  });
  const url = `redis://127.0.0.1:${port}`;
  const payload = randomPayload(params.recordBytes);
  const connect = async (count: number) => {
    const clients: RespConnection[] = [];
    for (let index = 0; index < count; index++) clients.push(await RespConnection.open("127.0.0.1", port));
    return clients;
  };
  const admin = new RedisClient(url);
  await admin.connect();
  return {
    port,
    name: `Redis Streams (AOF ${appendfsync})`,
    async newTrial(label): Promise<Trial> {
      const stream = trialName("bench", label);
      const clients = await connect(connections);
      const target = new RedisTarget(clients, stream, payload);
      return {
        target,
        followSpec: { kind: "redis", url, stream },
        attach(recorder) {
          target.recorder = recorder;
        },
        async close() {
          for (const client of clients) client.close();
          await admin.send("DEL", [stream]);
        },
      };
    },
    async flood(label, durationMs, warmupMs) {
      const stream = trialName("flood", label);
      const clients = await connect(connections);
      const windowMax = params.inFlightMax * 32; // commands in flight per client (pipelined)
      let measuring = false;
      let stop = false;
      let acked = 0;
      let index = 0;
      let failure: string | null = null;
      const scratch = payload.slice();
      // Refilled from the reply callback itself, so that every XADD a burst of replies frees is
      // issued in the same turn and leaves in one write (an await per command would flush
      // each one alone: measured 4× slower).
      const loops = clients.map(
        (client) =>
          new Promise<void>((resolve) => {
            const sendOne = (): void => {
              client.send(["XADD", stream, "*", "v", indexedValue(payload, index++, scratch)], (ok, reply) => {
                if (!ok) failure ??= reply;
                else if (measuring) acked += 1;
                if (!stop && failure === null) sendOne();
                else if (client.outstanding === 0) resolve();
              });
            };
            for (let slot = 0; slot < windowMax; slot++) sendOne();
          }),
      );
      await Bun.sleep(warmupMs);
      measuring = true;
      const started = nowMs();
      await Bun.sleep(durationMs);
      measuring = false;
      const seconds = (nowMs() - started) / 1000;
      stop = true;
      await Promise.all(loops);
      for (const client of clients) client.close();
      if (failure !== null) throw new Error(`Redis XADD failed: ${failure}`);
      await admin.send("DEL", [stream]);
      return { recordsPerSecond: acked / seconds };
    },
    async reference() {
      // redis-benchmark (C, 4 connections, 64 commands pipelined each) XADDing the same size
      // of entry into a fresh stream on this very server: the ceiling our driver is held to.
      const stream = trialName("reference", "redis-benchmark");
      const args = ["-h", "127.0.0.1", "-p", String(port), "-P", "64", "-c", "4", "-n", String(referenceCommands), "--csv", "XADD", stream, "*", "v"];
      const tool = Bun.spawn(["redis-benchmark", ...args, "x".repeat(params.recordBytes)], { stdout: "pipe", stderr: "pipe" });
      const [output, code] = await Promise.all([new Response(tool.stdout).text(), tool.exited]);
      await admin.send("DEL", [stream]);
      const last = output.trim().split("\n").pop() ?? "";
      const rps = Number(/^"[^"]*","([0-9.]+)"/.exec(last)?.[1]);
      if (code !== 0 || !(rps > 0)) throw new Error(`redis-benchmark failed (exit ${code}): ${last.slice(-200)}`);
      return { recordsPerSecond: rps, command: `redis-benchmark -P 64 -c 4 -n ${referenceCommands} XADD <stream> '*' v <${params.recordBytes}-byte value>` };
    },
    async stop() {
      admin.close();
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
