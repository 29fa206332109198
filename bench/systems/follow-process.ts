// Parent side of the end-to-end consumer process (see follow-child.ts).

import { join } from "node:path";
import type { OpenLoopRecorder } from "../lib/open-loop.ts";
import type { ScheduleOptions } from "../lib/schedule.ts";
import type { FollowSpec } from "./follow.ts";
import { trackChild } from "../lib/process.ts";

const childPath = join(import.meta.dir, "follow-child.ts");

export class FollowProcess {
  private lines: string[] = [];
  private waiters: Array<() => void> = [];
  private exited = false;

  private constructor(private readonly child: Bun.Subprocess<"pipe", "pipe", "pipe">) {}

  static async start(spec: FollowSpec, readyTimeoutMs = 10_000): Promise<FollowProcess> {
    const child = Bun.spawn([process.execPath, childPath, JSON.stringify(spec)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    trackChild(child);
    const follow = new FollowProcess(child);
    void follow.pump(child.stdout);
    void follow.pump(child.stderr);
    void child.exited.then(() => {
      follow.exited = true;
      follow.wake();
    });
    await follow.waitFor((line) => line === "ready", readyTimeoutMs);
    return follow;
  }

  sendSchedule(schedule: ScheduleOptions): void {
    this.child.stdin.write(`schedule ${JSON.stringify(schedule)}\n`);
    this.child.stdin.flush();
  }

  /**
   * Tells the child producing is over; merges its end-to-end histogram into the recorder and
   * returns how many measured records it consumed. With several consumers each waits for its
   * share (≈ acked / members) of the measured records.
   */
  async finish(recorder: OpenLoopRecorder, members = 1, timeoutMs = 15_000): Promise<number> {
    this.child.stdin.write(`stop ${Math.floor(recorder.ackedMeasured / members)}\n`);
    this.child.stdin.flush();
    const line = await this.waitFor((candidate) => candidate.startsWith("result "), timeoutMs);
    const [, consumed, encoded] = line.split(" ");
    recorder.endToEnd.addEncoded(encoded!);
    await this.child.exited;
    return Number(consumed);
  }

  kill(): void {
    if (!this.exited) this.child.kill("SIGKILL");
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of stream) {
      pending += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        this.lines.push(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (this.lines.length > 200) this.lines.shift();
      }
      this.wake();
    }
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.exited) throw new Error(`end-to-end consumer exited (${this.child.exitCode}): ${this.lines.slice(-10).join(" | ")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`end-to-end consumer timed out: ${this.lines.slice(-10).join(" | ")}`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), Bun.sleep(Math.min(left, 200))]);
    }
  }
}
