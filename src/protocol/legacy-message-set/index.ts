// Message formats v0 and v1 (magic 0 and 1), for Produce v0-2 and Fetch v0-3: the message-set
// codec (format.ts), up-conversion of a produced set to RecordBatch v2 (up-convert.ts),
// down-conversion of stored batches for old consumers (down-convert.ts), and Kafka 0.8's LZ4 header
// checksum (lz4-framing.ts). The log stores RecordBatch v2 only; these formats exist on the wire.

export * from "./format.ts";
export * from "./lz4-framing.ts";
export * from "./up-convert.ts";
export * from "./down-convert.ts";
