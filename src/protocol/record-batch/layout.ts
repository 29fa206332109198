// RecordBatch v2 (magic 2): the unit producers send, the log stores and consumers fetch. This file
// is the one description of its fixed 61-byte header: field positions, attribute bits, and the
// byte-level reads and stamps every other part of the RecordBatch module (and the storage) uses.
//
//   offset  field                 type     notes
//   0       baseOffset            int64    stamped by the broker, outside the CRC
//   8       batchLength           int32    bytes after this field (whole batch = batchLength + 12)
//   12      partitionLeaderEpoch  int32    stamped by the broker, outside the CRC
//   16      magic                 int8     2
//   17      crc                   uint32   CRC-32C of bytes 21 … end of batch
//   21      attributes            int16    bits 0-2 compression, 3 timestamp type (1 = log append
//                                          time), 4 transactional, 5 control
//   23      lastOffsetDelta       int32
//   27      baseTimestamp         int64
//   35      maxTimestamp          int64
//   43      producerId            int64
//   51      producerEpoch         int16
//   53      baseSequence          int32
//   57      recordsCount          int32
//   61      records …             (compressed as one block when attributes say so)
//
// Fields are read and written byte by byte (big-endian), and 64-bit ones through one shared 8-byte
// scratch DataView: a DataView over a fresh request buffer costs ~0.6 µs in Bun (it makes
// JavaScriptCore materialize the ArrayBuffer; see src/protocol/primitives.ts), and the append path
// used to make three per batch (parse, stamp base offset, stamp leader epoch).

export const batchHeaderBytes = 61;
/** baseOffset + batchLength: the bytes batchLength does not count. */
export const logOverheadBytes = 12;
/** The CRC covers the bytes from `attributes` to the end. */
export const crcStartOffset = 21;
export const recordBatchMagic = 2;

export const Field = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
} as const;

export const Attribute = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

export function compressionOf(attributes: number): number {
  return attributes & Attribute.compressionMask;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & Attribute.transactional) !== 0;
}

export function isControl(attributes: number): boolean {
  return (attributes & Attribute.control) !== 0;
}

export function isLogAppendTime(attributes: number): boolean {
  return (attributes & Attribute.logAppendTime) !== 0;
}

const scratchBytes = new Uint8Array(8);
const scratchView = new DataView(scratchBytes.buffer);

export function int32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

export function int16At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16)) >> 16;
}

export function int8At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 24) >> 24;
}

export function int64At(bytes: Uint8Array, at: number): bigint {
  for (let index = 0; index < 8; index++) scratchBytes[index] = bytes[at + index]!;
  return scratchView.getBigInt64(0);
}

export function setInt32At(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

export function setInt16At(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value;
}

export function setInt64At(bytes: Uint8Array, at: number, value: bigint): void {
  scratchView.setBigInt64(0, value);
  for (let index = 0; index < 8; index++) bytes[at + index] = scratchBytes[index]!;
}

/** Total size of the batch at `position` from its length field (bytes 8..12 must be present). */
export function batchSizeAt(bytes: Uint8Array, position: number): number {
  return int32At(bytes, position + Field.batchLength) + logOverheadBytes;
}

/** The attributes of the batch at `position` (bytes 21..23 must be present). */
export function attributesAt(bytes: Uint8Array, position: number): number {
  return int16At(bytes, position + Field.attributes);
}
