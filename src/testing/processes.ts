// Test-only helpers for child processes: spawn a Bun script, read its stdout line by line as it
// comes, wait for a line that matches, and kill it with SIGKILL (no chance to flush or clean up,
// which is the point of a crash test).

import type { Subprocess } from "bun";
import { assert } from "../util/assert.ts";

export interface LineProcess {
  readonly process: Subprocess<"ignore", "pipe", "pipe">;
  /** Every complete stdout line received so far (a partial last line is never included). */
  readonly lines: string[];
  /** Resolves with the first line (from `from` on) for which `match` is true; rejects on exit. */
  waitForLine(match: (line: string) => boolean, from?: number): Promise<string>;
  /** SIGKILL, then wait for the exit. Returns the exit signal/code. */
  kill9(): Promise<number | null>;
  /** Everything the child wrote to stderr (resolves after exit). */
  stderr(): Promise<string>;
  readonly exited: Promise<number>;
}

export function spawnLines(command: string[], options: { env?: Record<string, string | undefined>; cwd?: string } = {}): LineProcess {
  const child = Bun.spawn(command, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: string[] = [];
  const waiters: { match: (line: string) => boolean; from: number; resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let ended = false;

  const notify = () => {
    for (let index = waiters.length - 1; index >= 0; index--) {
      const waiter = waiters[index]!;
      const found = lines.slice(waiter.from).find(waiter.match);
      if (found !== undefined) {
        waiters.splice(index, 1);
        waiter.resolve(found);
      } else if (ended) {
        waiters.splice(index, 1);
        waiter.reject(new Error(`process exited before the expected line (last lines: ${lines.slice(-3).join(" | ")})`));
      }
    }
  };

  const reading = (async () => {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of child.stdout) {
      partial += decoder.decode(chunk, { stream: true });
      let newline = partial.indexOf("\n");
      while (newline >= 0) {
        lines.push(partial.slice(0, newline));
        partial = partial.slice(newline + 1);
        newline = partial.indexOf("\n");
      }
      notify();
    }
    // A partial last line is dropped: the writer was killed in the middle of printing it.
  })();

  // Read stderr as it comes, so that a chatty child never blocks on a full pipe.
  const stderrText = new Response(child.stderr).text();

  const exited = (async () => {
    const code = await child.exited;
    await reading;
    ended = true;
    notify();
    return code;
  })();

  return {
    process: child,
    lines,
    waitForLine(match, from = 0) {
      assert(from >= 0, "from must be >= 0");
      return new Promise<string>((resolve, reject) => {
        waiters.push({ match, from, resolve, reject });
        notify();
      });
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited;
      return child.signalCode ? 9 : child.exitCode;
    },
    async stderr() {
      await exited;
      return await stderrText;
    },
    exited,
  };
}
