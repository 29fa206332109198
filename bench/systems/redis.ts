// Redis Streams as a peer: our own redis-server on an ephemeral loopback port with AOF
// (`appendfsync everysec`, Redis's usual durable setting), driven with XADD through Bun's
// built-in Redis client (which pipelines commands issued without awaiting) and consumed with
// XREAD BLOCK on a second connection.
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
import { floodLoop } from "../lib/window.ts";


export function indexedValue(payload: Uint8Array, index: number): Uint8Array {
  const value = payload.slice();
  const digits = String(index).padStart(redisIndexDigits, "0");
  for (let position = 0; position < redisIndexDigits; position++) value[position] = digits.charCodeAt(position);
  return value;
}

class RedisTarget implements OpenLoopTarget {
  recorder: OpenLoopRecorder | null = null;
  private outstanding = 0;
  private next = 0;
  private waiters: Array<() => void> = [];
  constructor(private readonly clients: RedisClient[], private readonly stream: string, private readonly payload: Uint8Array) {}

  send(first: number, count: number): void {
    for (let index = first; index < first + count; index++) {
      const client = this.clients[this.next]!;
      this.next = (this.next + 1) % this.clients.length;
      this.outstanding += 1;
      client.send("XADD", [this.stream, "*", "v", indexedValue(this.payload, index) as unknown as string]).then(
        () => this.done(index, true),
        () => this.done(index, false),
      );
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

export async function startRedis(params: BenchParams, appendfsync: "everysec" | "always" = "everysec", connections = params.producers): Promise<System> {
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
    const clients: RedisClient[] = [];
    for (let index = 0; index < count; index++) {
      const client = new RedisClient(url);
      await client.connect();
      clients.push(client);
    }
    return clients;
  };
  const admin = (await connect(1))[0]!;
  return {
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
      const loops = clients.map((client) =>
        floodLoop(windowMax, () => stop, () =>
          client.send("XADD", [stream, "*", "v", indexedValue(payload, index++) as unknown as string]).then(() => {
            if (measuring) acked += 1;
          }),
        ),
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
      await admin.send("DEL", [stream]);
      return { recordsPerSecond: acked / seconds };
    },
    async stop() {
      admin.close();
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
