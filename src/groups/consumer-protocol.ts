// Just enough of the consumer protocol (protocolType "consumer") to know which topics a member is
// subscribed to: OffsetDelete must refuse to delete offsets of a subscribed topic. The layout of
// ConsumerProtocolSubscription (never flexible) starts: int16 version, int32 count, then that many
// int16-length strings. Anything after the topics (user data, owned partitions, rack) is ignored.

import { Reader } from "../protocol/primitives.ts";

/** The topics of a consumer-protocol subscription, or null when the bytes do not parse. */
export function subscribedTopics(metadata: Uint8Array): string[] | null {
  try {
    const reader = new Reader(metadata);
    const version = reader.int16();
    if (version < 0) return null;
    const count = reader.int32();
    if (count < 0 || count > reader.remaining / 2) return null;
    const topics: string[] = [];
    for (let index = 0; index < count; index++) topics.push(reader.string());
    return topics;
  } catch {
    return null;
  }
}
