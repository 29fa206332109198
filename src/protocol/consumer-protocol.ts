// The "consumer" embedded protocol: what Kafka consumers put in JoinGroup's protocol metadata
// (a subscription) and SyncGroup's assignments. Each is an int16 version followed by the struct of
// that version. As Kafka does, a version newer than we know is parsed with the newest layout we
// know (newer versions only append fields), and trailing bytes are ignored for the same reason.
// Some clients declare a version but write an older layout (kafkajs 2.2.4 writes "version 1" with
// only the v0 fields), so when the declared layout does not fit, older layouts are tried in turn.
// The broker treats these bytes as opaque; these helpers are for tests, tooling and the HTTP API.

import { ProtocolDecodeError } from "./errors.ts";
import {
  type ConsumerProtocolAssignment,
  ConsumerProtocolAssignmentCodec,
  type ConsumerProtocolSubscription,
  ConsumerProtocolSubscriptionCodec,
} from "./generated/index.ts";
import { type Init, Reader, Writer } from "./primitives.ts";

export type { ConsumerProtocolAssignment, ConsumerProtocolSubscription } from "./generated/index.ts";

interface Codec<Value> {
  readonly minVersion: number;
  readonly maxVersion: number;
  decode(reader: Reader, version: number): Value;
  encode(writer: Writer, version: number, value: Init<Value>): void;
}

function decodeVersioned<Value>(codec: Codec<Value>, bytes: Uint8Array): { version: number; value: Value } {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version < codec.minVersion) throw new ProtocolDecodeError(`consumer protocol version ${version}`);
  const start = reader.position;
  for (let layout = Math.min(version, codec.maxVersion); ; layout--) {
    try {
      reader.position = start;
      return { version, value: codec.decode(reader, layout) };
    } catch (error) {
      if (!(error instanceof ProtocolDecodeError) || layout <= codec.minVersion) throw error;
    }
  }
}

function encodeVersioned<Value>(codec: Codec<Value>, version: number, value: Init<Value>): Uint8Array {
  const writer = new Writer(64);
  writer.int16(version);
  codec.encode(writer, version, value);
  return writer.finish();
}

export function decodeSubscription(bytes: Uint8Array): { version: number; value: ConsumerProtocolSubscription } {
  return decodeVersioned(ConsumerProtocolSubscriptionCodec, bytes);
}

export function encodeSubscription(version: number, value: Init<ConsumerProtocolSubscription>): Uint8Array {
  return encodeVersioned(ConsumerProtocolSubscriptionCodec, version, value);
}

export function decodeAssignment(bytes: Uint8Array): { version: number; value: ConsumerProtocolAssignment } {
  return decodeVersioned(ConsumerProtocolAssignmentCodec, bytes);
}

export function encodeAssignment(version: number, value: Init<ConsumerProtocolAssignment>): Uint8Array {
  return encodeVersioned(ConsumerProtocolAssignmentCodec, version, value);
}
