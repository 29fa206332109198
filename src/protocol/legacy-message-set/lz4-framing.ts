// Kafka 0.8-0.9 (magic 0) wrote LZ4 frames whose header checksum byte was computed over the wrong
// bytes: xxHash32 of the frame's magic number AND descriptor instead of the descriptor alone
// (KAFKA-3160, corrected with magic 1). Clients of that era expect the broken byte on magic 0
// messages and the right one on magic 1; librdkafka and kafka-python still follow that rule. We
// fix the byte before inflating a magic 0 frame and break it again when writing one.

const lz4FrameMagic = 0x184d2204;

/** Where the frame descriptor ends (the header checksum byte's index), or -1 if not an LZ4 frame. */
function headerChecksumIndex(frame: Uint8Array): number {
  if (frame.length < 7) return -1;
  const magic = (frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)) >>> 0;
  if (magic !== lz4FrameMagic) return -1;
  const flags = frame[4]!;
  let index = 6; // FLG, BD
  if (flags & 0x08) index += 8; // content size
  if (flags & 0x01) index += 4; // dictionary id
  return index < frame.length ? index : -1;
}

function checksumOver(frame: Uint8Array, from: number, to: number): number {
  return (Bun.hash.xxHash32(frame.subarray(from, to), 0) >>> 8) & 0xff;
}

/** A copy of `frame` with the header checksum Kafka 0.8 wrote (over magic + descriptor). */
export function withBrokenLz4HeaderChecksum(frame: Uint8Array): Uint8Array {
  const index = headerChecksumIndex(frame);
  if (index < 0) return frame;
  const out = frame.slice();
  out[index] = checksumOver(frame, 0, index);
  return out;
}

/** `frame` with a correct header checksum: a copy if the byte was Kafka 0.8's broken one. */
export function withCorrectLz4HeaderChecksum(frame: Uint8Array): Uint8Array {
  const index = headerChecksumIndex(frame);
  if (index < 0) return frame;
  const correct = checksumOver(frame, 4, index);
  if (frame[index] === correct) return frame;
  const out = frame.slice();
  out[index] = correct;
  return out;
}
