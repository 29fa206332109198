import { expect, test } from "bun:test";
import { ProtocolDecodeError } from "../../src/protocol/errors.ts";
import { ApiVersionsApi, FetchApi, MetadataApi, ProduceApi } from "../../src/protocol/generated/index.ts";
import {
  decodeRequestFrame,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
  requestHeaderVersion,
  responseHeaderVersion,
} from "../../src/protocol/headers.ts";
import { Reader } from "../../src/protocol/primitives.ts";

test("header versions follow the API version's flexibility; ApiVersions responses always v0", () => {
  expect(requestHeaderVersion(0, 8)).toBe(1);
  expect(requestHeaderVersion(0, 9)).toBe(2);
  expect(responseHeaderVersion(0, 8)).toBe(0);
  expect(responseHeaderVersion(0, 9)).toBe(1);
  expect(requestHeaderVersion(18, 2)).toBe(1);
  expect(requestHeaderVersion(18, 3)).toBe(2);
  expect(requestHeaderVersion(18, 7)).toBe(2); // newer than we know: still flexible
  expect(responseHeaderVersion(18, 3)).toBe(0);
  expect(responseHeaderVersion(18, 4)).toBe(0);
  expect(requestHeaderVersion(12345, 0)).toBe(1);
});

test("request frames: v1 header, v2 header with tagged section, null client id", () => {
  for (const [version, clientId] of [[8, "c1"], [9, null], [11, "ünï"]] as const) {
    const frame = encodeRequestFrame(ProduceApi, version, 77, clientId, { acks: 1, timeoutMs: 10, topicData: [] });
    expect(new DataView(frame.buffer, frame.byteOffset).getInt32(0)).toBe(frame.length - 4);
    const { header, api, reader } = decodeRequestFrame(frame.subarray(4));
    expect(header).toEqual({ requestApiKey: 0, requestApiVersion: version, correlationId: 77, clientId });
    expect(api).toBe(ProduceApi);
    expect(reader.remaining).toBe(0);
  }
});

test("the client id keeps its int16 length in header v2 (any broker can read an ApiVersions header)", () => {
  const frame = encodeRequestFrame(ApiVersionsApi, 3, 1, "ab", { clientSoftwareName: "x", clientSoftwareVersion: "1" });
  expect([...frame.subarray(4 + 8, 4 + 12)]).toEqual([0, 2, 97, 98]);
  expect(frame[4 + 12]).toBe(0); // empty tagged-field section of header v2
});

test("response frames carry the right header", () => {
  const flexible = Buffer.concat(encodeResponseFrame(MetadataApi, 9, 5, { brokers: [], topics: [] }));
  const reader = new Reader(new Uint8Array(flexible), 4);
  expect(decodeResponseHeader(reader, 3, 9)).toEqual({ correlationId: 5 });
  expect(MetadataApi.decodeResponse(reader, 9).brokers).toEqual([]);
  expect(reader.remaining).toBe(0);

  const apiVersions = Buffer.concat(encodeResponseFrame(ApiVersionsApi, 3, 6, { errorCode: 0, apiKeys: [] }));
  // size, correlation id, then straight into the body (no tagged byte): error code 0.
  expect(apiVersions.readInt32BE(4)).toBe(6);
  expect(apiVersions.readInt16BE(8)).toBe(0);
});

test("malformed headers are decode errors", () => {
  expect(() => decodeRequestHeader(new Reader(new Uint8Array([0, 0, 0])))).toThrow(ProtocolDecodeError);
  expect(() => decodeRequestHeader(new Reader(new Uint8Array([0, 0, 0xff, 0xff, 0, 0, 0, 1, 0, 0])))).toThrow(ProtocolDecodeError);
  expect(() => decodeRequestHeader(new Reader(new Uint8Array([0, 0, 0, 9, 0, 0, 0, 1, 0, 5, 97])))).toThrow(ProtocolDecodeError);
});

test("a response frame with large record views: size prefix right, views not copied", () => {
  const big = new Uint8Array(100_000).fill(4);
  const chunks = encodeResponseFrame(FetchApi, 12, 9, {
    responses: [{ topic: "t", partitions: [{ partitionIndex: 0, records: [big, big] }] }],
  });
  expect(chunks.filter((chunk) => chunk === big).length).toBe(2);
  const whole = Buffer.concat(chunks);
  expect(whole.readInt32BE(0)).toBe(whole.length - 4);
  const reader = new Reader(new Uint8Array(whole), 4);
  expect(decodeResponseHeader(reader, 1, 12)).toEqual({ correlationId: 9 });
  expect(FetchApi.decodeResponse(reader, 12).responses[0].partitions[0].records!.length).toBe(200_000);
  expect(reader.remaining).toBe(0);
});
