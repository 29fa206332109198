// Child processes for the bench (broker, peers, floors): start, wait for the line that says
// where it listens, keep draining its output (a full pipe would stall the child), stop it.

import type { Subprocess } from "bun";
import { assert } from "../../src/util/assert.ts";

export interface Child {
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  readonly pid: number;
  readonly match: RegExpMatchArray;
  /** The last lines the child printed (stdout and stderr), for error messages. */
  tail(): string;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  cmd: string[];
  /** A line on stdout or stderr matching this says the child is ready. */
  ready: RegExp;
  readyTimeoutMs: number;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

const tailLinesMax = 40;

// Every child still running, so that an interrupted bench (Ctrl-C) leaves no broker, Redis or
// NATS server behind.
const running = new Set<Subprocess>();
let cleanupInstalled = false;

export function trackChild(child: Subprocess): void {
  running.add(child);
  void child.exited.then(() => running.delete(child));
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = () => {
    for (const each of running) each.kill("SIGKILL");
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

export async function spawnChild(options: SpawnOptions): Promise<Child> {
  assert(options.cmd.length > 0, "empty command");
  const child = Bun.spawn(options.cmd, {
    cwd: options.cwd,
    env: options.env ? { ...process.env, ...options.env } : process.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  trackChild(child);
  const lines: string[] = [];
  let resolveReady: (match: RegExpMatchArray) => void = () => {};
  const ready = new Promise<RegExpMatchArray>((resolve) => (resolveReady = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        lines.push(line);
        if (lines.length > tailLinesMax) lines.shift();
        const match = line.match(options.ready);
        if (match) resolveReady(match);
      }
    }
  };
  void pump(child.stdout);
  void pump(child.stderr);
  const tail = () => lines.join("\n");
  const timeout = Bun.sleep(options.readyTimeoutMs).then(() => null);
  const exited = child.exited.then(() => null);
  const match = await Promise.race([ready, timeout, exited]);
  if (match === null) {
    child.kill("SIGKILL");
    throw new Error(`${options.cmd.join(" ")} did not become ready (${child.exitCode === null ? "timeout" : `exit ${child.exitCode}`}):\n${tail()}`);
  }
  return {
    process: child,
    pid: child.pid,
    match,
    tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const stopped = await Promise.race([child.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!stopped) {
        child.kill("SIGKILL");
        await child.exited;
      }
    },
  };
}

/** A free TCP port on 127.0.0.1 for a child that cannot be told to pick one (port 0). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}
