// A real Runnel broker as a child process, for tests that use real clients. Starts
// `bun src/main.ts` (or $RUNNEL_BIN, a compiled binary) on 127.0.0.1 with port 0, parses the
// printed `kafka listening on HOST:PORT`, waits for `runnel ready: …` (partitions recovered, group
// coordinator loaded), and cleans up: `await using broker = await startBroker()`.
//
//   const broker = await startBroker({ set: { "num.partitions": "3" } });
//   broker.bootstrap            // "127.0.0.1:PORT"
//   await broker.restart();     // SIGTERM, then start again on the same data dir and port
//   await broker.crash();       // SIGKILL (no clean shutdown), then start again
//   await broker.stop();        // SIGTERM; removes the data dir unless keepDataDir / dataDir given

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnLines, type LineProcess } from "../../src/testing/processes.ts";

export const repoRoot = resolve(import.meta.dir, "../..");

export interface BrokerOptions {
  /** Data directory to use (kept after stop). Default: a fresh temporary directory (removed). */
  dataDir?: string;
  /** Broker config keys, as --set key=value. */
  set?: Record<string, string | number | boolean>;
  /** Extra environment (RUNNEL_LOG_LEVEL defaults to "warn" to keep test output short). */
  env?: Record<string, string>;
  /** Keep a temporary data dir after stop (for debugging). */
  keepDataDir?: boolean;
  /** How long to wait for the listening line, ms. */
  startTimeoutMs?: number;
  /** Wrap the command line, e.g. in `bash -c 'ulimit -n 256; exec "$@"'` (tests of resource limits). */
  wrapCommand?: (command: string[]) => string[];
}

const listeningLine = /^kafka listening on (.+):(\d+)$/;
const httpListeningLine = /^http listening on (.+):(\d+)( \(https\))?$/;
/** Printed once partitions have recovered and the group coordinator is loaded. */
const readyLine = /^runnel ready: /;

export class Broker {
  host = "127.0.0.1";
  port = 0;
  /** host:port of each Kafka listener by name (PLAINTEXT, SSL, SASL_SSL…), from the `listener …` lines. */
  readonly listeners = new Map<string, string>();
  /** Base URL of the HTTP API ("http://127.0.0.1:PORT", https when TLS is configured). */
  httpUrl = "";
  private child: LineProcess | null = null;
  private stderrText = "";
  readonly dataDir: string;
  private readonly ownsDataDir: boolean;

  constructor(private readonly options: BrokerOptions) {
    this.ownsDataDir = options.dataDir === undefined;
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "runnel-test-"));
  }

  get bootstrap(): string {
    return `${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.process.pid;
  }

  /** stdout lines of the current process. */
  get lines(): readonly string[] {
    return this.child?.lines ?? [];
  }

  /** The first stdout line of the current process that matches (waits for it; rejects on exit). */
  waitForLine(match: (line: string) => boolean): Promise<string> {
    if (!this.child) return Promise.reject(new Error("broker not running"));
    return this.child.waitForLine(match);
  }

  /** stderr of the last stopped process (for failure messages). */
  get lastStderr(): string {
    return this.stderrText;
  }

  async start(port = 0): Promise<this> {
    if (this.child) throw new Error("broker already running");
    const args = ["--data-dir", this.dataDir, "--kafka-port", String(port), "--http-port", "0", "--host", "127.0.0.1"];
    for (const [key, value] of Object.entries(this.options.set ?? {})) args.push("--set", `${key}=${value}`);
    const plain = process.env.RUNNEL_BIN ? [process.env.RUNNEL_BIN, ...args] : [process.execPath, join(repoRoot, "src/main.ts"), ...args];
    const command = this.options.wrapCommand ? this.options.wrapCommand(plain) : plain;
    const child = spawnLines(command, { cwd: repoRoot, env: { RUNNEL_LOG_LEVEL: "warn", ...this.options.env } });
    this.child = child;
    const timeoutMs = this.options.startTimeoutMs ?? 20000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const line = await Promise.race([
        child.waitForLine((text) => listeningLine.test(text)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`broker did not start within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      const match = listeningLine.exec(line)!;
      this.host = match[1]!;
      this.port = Number(match[2]);
      this.listeners.clear();
      for (const text of child.lines) {
        const entry = /^listener (\S+) \((\S+)\) on (.+):(\d+)$/.exec(text);
        if (entry) this.listeners.set(entry[1]!, `${entry[3]}:${entry[4]}`);
      }
      const httpLine = await child.waitForLine((text) => httpListeningLine.test(text));
      const httpMatch = httpListeningLine.exec(httpLine)!;
      this.httpUrl = `${httpMatch[3] ? "https" : "http"}://${httpMatch[1]}:${httpMatch[2]}`;
      // Tests talk to a ready broker: recovered partitions, group coordinator loaded.
      await Promise.race([
        child.waitForLine((text) => readyLine.test(text)),
        new Promise<never>((_, reject) => {
          clearTimeout(timer);
          timer = setTimeout(() => reject(new Error(`broker was not ready within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      child.process.kill("SIGKILL");
      this.stderrText = await child.stderr();
      this.child = null;
      throw new Error(`${(error as Error).message}\n--- broker stderr ---\n${this.stderrText.slice(-4000)}`);
    } finally {
      clearTimeout(timer);
    }
    return this;
  }

  /** SIGTERM and wait for a clean exit (SIGKILL after `timeoutMs`). Returns the exit code. */
  async shutdown(timeoutMs = 10000): Promise<number> {
    const child = this.child;
    if (!child) return 0;
    child.process.kill("SIGTERM");
    const timer = setTimeout(() => child.process.kill("SIGKILL"), timeoutMs);
    const code = await child.exited;
    clearTimeout(timer);
    this.stderrText = await child.stderr();
    this.child = null;
    return code;
  }

  /** Clean restart on the same data directory and (by default) the same port. */
  async restart(options: { samePort?: boolean } = {}): Promise<this> {
    const port = options.samePort === false ? 0 : this.port;
    await this.shutdown();
    return this.start(port);
  }

  /** SIGKILL (no shutdown at all), then start again on the same data directory and port. */
  async crash(options: { samePort?: boolean } = {}): Promise<this> {
    const port = options.samePort === false ? 0 : this.port;
    const child = this.child;
    if (child) {
      await child.kill9();
      this.stderrText = await child.stderr();
      this.child = null;
    }
    return this.start(port);
  }

  /** SIGKILL and wait for the process to be gone, without starting again. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await child.kill9();
    this.stderrText = await child.stderr();
    this.child = null;
  }

  /** Stop the process and remove the temporary data directory. */
  async stop(): Promise<void> {
    await this.shutdown();
    if (this.ownsDataDir && !this.options.keepDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const broker = new Broker(options);
  try {
    return await broker.start();
  } catch (error) {
    await broker.stop();
    throw error;
  }
}

/** Run a command to completion; throws with its output when it exits non-zero. */
export async function run(
  command: string[],
  options: { stdin?: Uint8Array | string; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<{ stdout: Uint8Array; stderr: string }> {
  const child = Bun.spawn(command, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : typeof options.stdin === "string" ? new TextEncoder().encode(options.stdin) : options.stdin,
    stdout: "pipe",
    stderr: "pipe",
  });
  const timeoutMs = options.timeoutMs ?? 60000;
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).bytes(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`${command.join(" ")} exited with ${code}${child.signalCode ? ` (${child.signalCode})` : ""}\n${stderr.slice(-4000)}\n${new TextDecoder().decode(stdout).slice(-2000)}`);
  }
  return { stdout, stderr };
}
