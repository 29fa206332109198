// Up-conversion of a Produce v0-2 message set (magic 0 or 1) into one RecordBatch v2, as Kafka 3.x's
// LogValidator does before appending: every message's CRC-32 checked, compressed wrappers inflated
// (within a byte cap shared by the whole set) and their inner messages checked, offsets assigned
// afresh, and the result compressed again with the producer's codec. The client's offsets are not
// checked, as Kafka does not: producers write what they like there (kafka-python sets a magic 1
// wrapper's offset to 0, librdkafka to its last inner offset) and the broker assigns its own. Timestamps: magic 1 messages keep theirs (a wrapper stamped LogAppendTime gives
// its own to its inner messages); magic 0 messages have none, so they get -1 (NO_TIMESTAMP) — and a
// LogAppendTime topic stamps the broker's time on the whole batch when the log appends it, as for
// any batch. Nothing here writes anything: a refused set throws KafkaError and the caller appends
// nothing.
//
// Errors, as Kafka answers them: CORRUPT_MESSAGE for bytes that are not a message set (sizes that
// lie, bad CRC, a wrapper that does not inflate or inflates past the cap), INVALID_RECORD for a
// well-formed set Kafka refuses (a compressed message inside a wrapper, inner magic other than the
// wrapper's, an empty wrapper), INVALID_TIMESTAMP for a magic 1 timestamp below -1, UNSUPPORTED_COMPRESSION_TYPE
// for zstd (magic 2 only) and unknown codecs.

import { assert } from "../../util/assert.ts";
import { CompressionType, decompress } from "../compression.ts";
import { ErrorCode, KafkaError } from "../errors.ts";
import { buildRecordBatch, type RecordInput } from "../record-batch/build.ts";
import { codecMask, corruptMessage, invalidRecord, readMessage, timestampTypeBit, type LegacyMessage } from "./format.ts";
import { withCorrectLz4HeaderChecksum } from "./lz4-framing.ts";

export interface UpConvertLimits {
  /** Cap on the inflated values of all the set's wrappers together (a decompression bomb stops here). */
  readonly inflatedBytesMax: number;
}

export interface UpConverted {
  /** One RecordBatch v2 (base offset 0, CRC-32C set), ready for the log's own validation. */
  readonly batch: Uint8Array;
  readonly recordsCount: number;
  /** The highest magic seen (0 or 1). */
  readonly magic: number;
}

/**
 * Kafka refuses a magic 1 timestamp below -1 (InvalidTimestampException); we also refuse one past
 * 2^52 ms (year 142,000), so that v2's timestamp deltas stay exact.
 */
const timestampMax = 2n ** 52n;

function checkedTimestamp(timestamp: bigint, offset: bigint): bigint {
  if (timestamp < -1n || timestamp > timestampMax) throw new KafkaError(ErrorCode.INVALID_TIMESTAMP, `message at offset ${offset}: invalid timestamp ${timestamp}`);
  return timestamp;
}

function checkCodec(codec: number, offset: bigint): void {
  if (codec === CompressionType.zstd) {
    throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `message at offset ${offset}: zstd needs message format v2 (Produce v3+)`);
  }
  if (codec > CompressionType.zstd) throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `message at offset ${offset}: compression codec ${codec}`);
}

/** The inner messages of one wrapper, checked against it, as records. */
function innerRecords(wrapper: LegacyMessage, inflated: Uint8Array, out: RecordInput[]): void {
  const useWrapperTime = wrapper.magic === 1 && (wrapper.attributes & timestampTypeBit) !== 0;
  let position = 0;
  let count = 0;
  while (position < inflated.length) {
    const inner = readMessage(inflated, position);
    position += inner.sizeBytes;
    if ((inner.attributes & codecMask) !== 0) throw invalidRecord(`wrapper at offset ${wrapper.offset} holds a compressed message (nested compression)`);
    if (inner.magic !== wrapper.magic) throw invalidRecord(`wrapper of magic ${wrapper.magic} holds a message of magic ${inner.magic}`);
    count++;
    out.push({ key: inner.key, value: inner.value, timestamp: inner.magic === 0 ? -1n : checkedTimestamp(useWrapperTime ? wrapper.timestamp : inner.timestamp, inner.offset) });
  }
  assert(position === inflated.length, "inner messages fill the inflated value");
  if (count === 0) throw invalidRecord(`wrapper at offset ${wrapper.offset} holds no message`);
}

/** Converts a magic 0/1 message set into one RecordBatch v2 (see the header). Throws KafkaError. */
export function upConvertMessageSet(bytes: Uint8Array, limits: UpConvertLimits): UpConverted {
  if (bytes.length === 0) throw invalidRecord("the request holds no message");
  const records: RecordInput[] = [];
  let inflatedLeft = limits.inflatedBytesMax;
  let codecOut: number = CompressionType.none;
  let magicSeen = 0;
  let position = 0;
  while (position < bytes.length) {
    const message = readMessage(bytes, position);
    position += message.sizeBytes;
    magicSeen = Math.max(magicSeen, message.magic);
    const codec = message.attributes & codecMask;
    if (codec === CompressionType.none) {
      records.push({ key: message.key, value: message.value, timestamp: message.magic === 0 ? -1n : checkedTimestamp(message.timestamp, message.offset) });
      continue;
    }
    checkCodec(codec, message.offset);
    if (message.value === null) throw corruptMessage(`compressed message at offset ${message.offset} has no value`);
    const compressed = message.magic === 0 && codec === CompressionType.lz4 ? withCorrectLz4HeaderChecksum(message.value) : message.value;
    const inflated = decompress(codec, compressed, inflatedLeft);
    inflatedLeft -= inflated.length;
    innerRecords(message, inflated, records);
    codecOut = codec;
  }
  assert(position === bytes.length, "messages fill the set");
  assert(records.length > 0, "a non-empty set yields records");
  // Every message takes 26 bytes at least: the count is bounded by the input and the inflate cap.
  const batch = buildRecordBatch({ records, compression: codecOut });
  return { batch, recordsCount: records.length, magic: magicSeen };
}
