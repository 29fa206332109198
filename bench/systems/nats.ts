// NATS JetStream as a peer: our own nats-server with JetStream on file storage in a temporary
// directory, published with the `nats` npm client (js.publish waits for the stream's PubAck)
// and consumed with an ordered consumer. The record's bench index is a float64 in the first
// 8 bytes of the payload, as for Runnel.

import { rmSync } from "node:fs";
import { connect, StorageType } from "nats";
import type { JetStreamClient, JetStreamManager, NatsConnection } from "nats";
import type { BenchParams } from "../lib/params.ts";
import { nowMs } from "../lib/open-loop.ts";
import type { OpenLoopRecorder, OpenLoopTarget } from "../lib/open-loop.ts";
import { freePort, spawnChild } from "../lib/process.ts";
import { benchTmpDir } from "../kafka/broker.ts";
import { randomPayload } from "../kafka/producer.ts";
import type { System, Trial } from "./types.ts";
import { trialName } from "./types.ts";
import { floodLoop } from "../lib/window.ts";

function indexedPayload(payload: Uint8Array, index: number): Uint8Array {
  const value = payload.slice();
  new DataView(value.buffer).setFloat64(0, index);
  return value;
}

class NatsTarget implements OpenLoopTarget {
  recorder: OpenLoopRecorder | null = null;
  private outstanding = 0;
  private waiters: Array<() => void> = [];
  constructor(private readonly js: JetStreamClient, private readonly subject: string, private readonly payload: Uint8Array) {}

  send(first: number, count: number): void {
    for (let index = first; index < first + count; index++) {
      this.outstanding += 1;
      this.js.publish(this.subject, indexedPayload(this.payload, index)).then(
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

export async function startNats(params: BenchParams): Promise<System> {
  const dir = benchTmpDir("nats");
  const port = freePort();
  const child = await spawnChild({
    cmd: ["nats-server", "-js", "-sd", dir, "-a", "127.0.0.1", "-p", String(port)],
    ready: /Server is ready/,
    readyTimeoutMs: 10_000,
  });
  const payload = randomPayload(params.recordBytes);
  const connection: NatsConnection = await connect({ servers: `127.0.0.1:${port}` });
  const manager: JetStreamManager = await connection.jetstreamManager();
  const newStream = async (label: string) => {
    const name = trialName("bench", label).replace(/[.]/g, "-");
    await manager.streams.add({ name, subjects: [name], storage: StorageType.File });
    return name;
  };
  return {
    name: "NATS JetStream (file storage)",
    async newTrial(label): Promise<Trial> {
      const stream = await newStream(label);
      const target = new NatsTarget(connection.jetstream(), stream, payload);
      return {
        target,
        followSpec: { kind: "nats", servers: `127.0.0.1:${port}`, stream },
        attach(recorder) {
          target.recorder = recorder;
        },
        async close() {
          // After an overload NATS may time out this call; the stream goes with the server.
          await manager.streams.delete(stream).catch(() => false);
        },
      };
    },
    async flood(label, durationMs, warmupMs) {
      const stream = await newStream(label);
      const js = connection.jetstream();
      const windowMax = params.inFlightMax * 32;
      let measuring = false;
      let stop = false;
      let acked = 0;
      let index = 0;
      const loop = floodLoop(windowMax, () => stop, () =>
        js.publish(stream, indexedPayload(payload, index++)).then(() => {
          if (measuring) acked += 1;
        }),
      );
      await Bun.sleep(warmupMs);
      measuring = true;
      const started = nowMs();
      await Bun.sleep(durationMs);
      measuring = false;
      const seconds = (nowMs() - started) / 1000;
      stop = true;
      await loop;
      await manager.streams.delete(stream);
      return { recordsPerSecond: acked / seconds };
    },
    async stop() {
      await connection.close();
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
