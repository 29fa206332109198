// End-to-end consumers, run in their own process (follow-child.ts) so that consuming does not
// steal the producer's event loop: the producer keeps its schedule, and the consumer's figure
// is what a separate consuming application would see. Each system describes how to consume
// one trial's stream with a serialisable FollowSpec.

import { RedisClient } from "bun";
import { connect } from "nats";
import { BenchConsumer } from "../kafka/consumer.ts";
import { nowMs } from "../lib/open-loop.ts";

export type FollowSpec =
  | { kind: "kafka"; host: string; port: number; topic: string; partitions: number; assigned?: number[]; fromEnd?: boolean }
  | { kind: "redis"; url: string; stream: string }
  | { kind: "nats"; servers: string; stream: string };

export const redisIndexDigits = 16;

export interface Follower {
  /** Connects; resolves once the consumer is ready to receive. */
  start(onRecord: (index: number, seenMs: number) => void): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Splits a spec over `consumers` processes: Kafka partitions are assigned round-robin, as a
 * consumer group would; Redis and NATS streams have one reader (more would each read all).
 */
export function splitFollowSpec(spec: FollowSpec, consumers: number): FollowSpec[] {
  if (spec.kind !== "kafka" || consumers <= 1) return [spec];
  const count = Math.min(consumers, spec.partitions);
  return Array.from({ length: count }, (_, member) => ({
    ...spec,
    assigned: Array.from({ length: spec.partitions }, (_, partition) => partition).filter((partition) => partition % count === member),
  }));
}

export function follower(spec: FollowSpec): Follower {
  switch (spec.kind) {
    case "kafka":
      return kafkaFollower(spec);
    case "redis":
      return redisFollower(spec);
    case "nats":
      return natsFollower(spec);
  }
}

function kafkaFollower(spec: Extract<FollowSpec, { kind: "kafka" }>): Follower {
  const consumer = new BenchConsumer({ host: spec.host, port: spec.port, topic: spec.topic, partitions: spec.partitions, assigned: spec.assigned, partitionMaxBytes: 1024 * 1024, responseMaxBytes: 8 * 1024 * 1024, maxWaitMs: 100 });
  let loop: Promise<void> = Promise.resolve();
  return {
    async start(onRecord) {
      await consumer.open();
      if (spec.fromEnd) await consumer.seekToEnd();
      loop = consumer.follow(onRecord);
    },
    async stop() {
      consumer.stop();
      await Promise.race([loop, Bun.sleep(500)]);
      consumer.close();
    },
  };
}

function redisFollower(spec: Extract<FollowSpec, { kind: "redis" }>): Follower {
  const client = new RedisClient(spec.url);
  let stopped = false;
  let loop: Promise<void> = Promise.resolve();
  return {
    async start(onRecord) {
      await client.connect();
      loop = (async () => {
        let lastId = "0";
        while (!stopped) {
          const reply = await client.send("XREAD", ["BLOCK", "100", "COUNT", "1000", "STREAMS", spec.stream, lastId]).catch((error) => {
            if (!stopped) throw error;
            return null;
          });
          const seenAt = nowMs();
          for (const [id, fields] of redisEntries(reply, spec.stream)) {
            lastId = id;
            onRecord(Number(String(fields[1] ?? "").slice(0, redisIndexDigits)), seenAt);
          }
        }
      })();
    },
    async stop() {
      stopped = true;
      await Promise.race([loop, Bun.sleep(500)]);
      client.close();
    },
  };
}

/** XREAD replies arrive as a RESP3 map {stream: [[id, [field, value]], …]} or a RESP2 array. */
function redisEntries(reply: unknown, stream: string): Array<[string, unknown[]]> {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) return ((reply[0] as unknown[] | undefined)?.[1] as Array<[string, unknown[]]>) ?? [];
  return ((reply as Record<string, unknown>)[stream] as Array<[string, unknown[]]>) ?? [];
}

function natsFollower(spec: Extract<FollowSpec, { kind: "nats" }>): Follower {
  let stopMessages: (() => void) | null = null;
  let close: (() => Promise<void>) | null = null;
  let loop: Promise<void> = Promise.resolve();
  return {
    async start(onRecord) {
      const connection = await connect({ servers: spec.servers });
      close = () => connection.close();
      const consumer = await connection.jetstream().consumers.get(spec.stream);
      const messages = await consumer.consume({ max_messages: 1000 });
      stopMessages = () => void messages.stop();
      loop = (async () => {
        for await (const message of messages) {
          onRecord(new DataView(message.data.buffer, message.data.byteOffset, 8).getFloat64(0), nowMs());
        }
      })();
    },
    async stop() {
      stopMessages?.();
      await Promise.race([loop, Bun.sleep(500)]);
      await close?.();
    },
  };
}
