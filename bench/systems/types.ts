// A system under test, as the scenarios see it: something that accepts records on an open-loop
// schedule (a trial), can be flooded for its highest throughput, and optionally be consumed
// for end-to-end latency. Runnel, the raw TCP sink, Redis Streams and NATS JetStream all
// implement it, so the same generator and the same accounting drive each of them.

import type { OpenLoopRecorder, OpenLoopTarget } from "../lib/open-loop.ts";
import type { ProcessMemory } from "../kafka/broker.ts";
import type { FollowSpec } from "./follow.ts";

export interface Trial {
  readonly target: OpenLoopTarget;
  attach(recorder: OpenLoopRecorder): void;
  /** How a separate process consumes this trial's stream from its start (end-to-end latency). */
  readonly followSpec?: FollowSpec;
  close(): Promise<void>;
}

export interface FloodResult {
  recordsPerSecond: number;
}

export interface ReferenceResult extends FloodResult {
  /** The command line that produced the figure. */
  command: string;
}

export interface System {
  readonly name: string;
  newTrial(label: string): Promise<Trial>;
  /** Closed-loop: as fast as the in-flight window allows, for durationMs after warm-up. */
  flood(label: string, durationMs: number, warmupMs: number): Promise<FloodResult>;
  memory?(): ProcessMemory | null;
  /** The system's own load tool against the same server, if it has one (a reference ceiling for our driver). */
  reference?(): Promise<ReferenceResult>;
  stop(): Promise<void>;
}

let trialCounter = 0;
/** A fresh name per trial so that each trial starts from an empty topic/stream. */
export function trialName(prefix: string, label: string): string {
  trialCounter += 1;
  return `${prefix}-${label.replace(/[^a-zA-Z0-9._-]/g, "-")}-${process.pid}-${trialCounter}`;
}
