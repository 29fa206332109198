// RecordBatch v2, the one module that reads and writes record batches (files in record-batch/):
//   layout.ts    the 61-byte header's fields and attribute bits, byte-level reads and stamps
//   header.ts    the parsed header, its CRC-32C, the leader's stamps
//   records.ts   the one record reader (readRecordFields) and the produce-path walk
//   batches.ts   batches in a records blob; records decoded into objects
//   validate.ts  produced, replicated and stored batches checked (Kafka's error codes)
//   build.ts     batches built from record inputs or LogRecords
//   rewrite.ts   the cleaner's in-place visit, filtering, inflate/deflate
// Clients, the HTTP API, the storage, the cleaner, the metadata log and the offsets store all use
// these; a batch is parsed by this code only.

export * from "./record-batch/layout.ts";
export * from "./record-batch/header.ts";
export * from "./record-batch/records.ts";
export * from "./record-batch/batches.ts";
export * from "./record-batch/validate.ts";
export * from "./record-batch/build.ts";
export * from "./record-batch/rewrite.ts";
export * from "./record-batch/control.ts";
