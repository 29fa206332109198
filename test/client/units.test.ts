// The client's pure parts: frame cutting, Kafka's murmur2 partitioner (checked against Kafka's own
// test vectors and kafkajs's implementation), the range assignor, bootstrap parsing.

import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { rangeAssign } from "../../src/client/assignor.ts";
import { parseBootstrap } from "../../src/client/client.ts";
import { ConnectionError, isRetriable, needsCoordinatorRefresh, needsMetadataRefresh } from "../../src/client/errors.ts";
import { FrameReader, FrameSizeError } from "../../src/client/frame-reader.ts";
import { murmur2, partitionForKey, StickyPartitioner } from "../../src/client/partitioner.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";

const encoder = new TextEncoder();

function framed(...bodies: Uint8Array[]): Uint8Array {
  const total = bodies.reduce((sum, body) => sum + 4 + body.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const body of bodies) {
    new DataView(out.buffer).setInt32(at, body.length);
    out.set(body, at + 4);
    at += 4 + body.length;
  }
  return out;
}

describe("FrameReader", () => {
  const bodies = [encoder.encode("first frame"), new Uint8Array(0), encoder.encode("x".repeat(1000))];
  const stream = framed(...bodies);

  test("cuts frames at every possible split of the stream", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const frames: Uint8Array[] = [];
      const reader = new FrameReader((frame) => frames.push(frame), 1 << 20);
      reader.push(stream.subarray(0, cut));
      reader.push(stream.subarray(cut));
      expect(frames).toEqual(bodies);
      expect(reader.idle).toBe(true);
    }
  });

  test("byte by byte, and frames do not alias the pushed chunks", () => {
    const frames: Uint8Array[] = [];
    const reader = new FrameReader((frame) => frames.push(frame), 1 << 20);
    const scratch = new Uint8Array(1);
    for (const byte of stream) {
      scratch[0] = byte;
      reader.push(scratch);
      scratch[0] = 0xee; // the socket reuses its buffer
    }
    expect(frames).toEqual(bodies);
  });

  test("refuses a size above the limit or negative before allocating", () => {
    const reader = new FrameReader(() => {}, 100);
    expect(() => reader.push(new Uint8Array([0, 0, 0, 101]))).toThrow(FrameSizeError);
    const negative = new FrameReader(() => {}, 100);
    expect(() => negative.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameSizeError);
  });
});

describe("partitioner", () => {
  test("murmur2 matches Kafka's Utils.murmur2 test vectors", () => {
    const vectors: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [text, hash] of vectors) expect(murmur2(encoder.encode(text))).toBe(hash);
  });

  test("keyed records land where kafkajs's default partitioner puts them", () => {
    const require = createRequire(import.meta.url);
    const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (key: Buffer) => number;
    for (let index = 0; index < 500; index++) {
      const key = crypto.getRandomValues(new Uint8Array(index % 37));
      const theirs = (kafkajsMurmur2(Buffer.from(key)) & 0x7fffffff) % 12;
      expect(partitionForKey(key, 12)).toBe(theirs);
    }
  });

  test("sticky partitioner keeps a partition until its batch closes, then moves", () => {
    const sticky = new StickyPartitioner();
    const first = sticky.partition("t", 8);
    expect(sticky.partition("t", 8)).toBe(first);
    sticky.batchClosed("t", first, 8);
    expect(sticky.partition("t", 8)).not.toBe(first);
    expect(sticky.partition("one", 1)).toBe(0);
  });
});

describe("range assignor", () => {
  test("contiguous ranges in member order, the first members get the remainder", () => {
    const plan = rangeAssign(
      [{ memberId: "b", topics: ["t", "u"] }, { memberId: "a", topics: ["t"] }, { memberId: "c", topics: ["t", "u"] }],
      new Map([["t", 7], ["u", 2]]),
    );
    expect(plan.get("a")).toEqual([{ topic: "t", partitions: [0, 1, 2] }]);
    expect(plan.get("b")).toEqual([{ topic: "t", partitions: [3, 4] }, { topic: "u", partitions: [0] }]);
    expect(plan.get("c")).toEqual([{ topic: "t", partitions: [5, 6] }, { topic: "u", partitions: [1] }]);
  });

  test("more members than partitions: the last ones get nothing; unknown topics assign nothing", () => {
    const plan = rangeAssign([{ memberId: "a", topics: ["t", "gone"] }, { memberId: "b", topics: ["t"] }], new Map([["t", 1]]));
    expect(plan.get("a")).toEqual([{ topic: "t", partitions: [0] }]);
    expect(plan.get("b")).toEqual([]);
  });
});

describe("bootstrap and errors", () => {
  test("parses host:port lists, IPv6 in brackets, and refuses junk", () => {
    expect(parseBootstrap("127.0.0.1:9092, localhost:19092")).toEqual([{ host: "127.0.0.1", port: 9092 }, { host: "localhost", port: 19092 }]);
    expect(parseBootstrap(["[::1]:9092"])).toEqual([{ host: "::1", port: 9092 }]);
    for (const bad of ["", "localhost", "host:0", "host:99999", "a:b"]) expect(() => parseBootstrap(bad)).toThrow();
  });

  test("retriable classification follows Kafka's", () => {
    expect(isRetriable(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER))).toBe(true);
    expect(isRetriable(new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS))).toBe(true);
    expect(isRetriable(new ConnectionError("gone"))).toBe(true);
    expect(isRetriable(new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS))).toBe(false);
    expect(isRetriable(new Error("bug"))).toBe(false);
    expect(needsMetadataRefresh(ErrorCode.LEADER_NOT_AVAILABLE)).toBe(true);
    expect(needsCoordinatorRefresh(ErrorCode.NOT_COORDINATOR)).toBe(true);
    expect(needsCoordinatorRefresh(ErrorCode.LEADER_NOT_AVAILABLE)).toBe(false);
  });
});
