// Every (API, version) served by the generated codecs: build a value with a non-default value in
// every field present at that version, encode, decode, compare; then re-encode the decoded value and
// compare bytes. Requests and responses. The expected values are computed here from the descriptors
// independently of the generator's own default logic, as a cross-check.

import { describe, expect, test } from "bun:test";
import { inRange, type MessageSpec } from "../../scripts/gen-protocol.ts";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode, KafkaError } from "../../src/protocol/errors.ts";
import { allApis, apiByKey } from "../../src/protocol/generated/index.ts";
import { ConsumerProtocolAssignmentCodec, ConsumerProtocolSubscriptionCodec } from "../../src/protocol/generated/index.ts";
import { Reader, Writer } from "../../src/protocol/primitives.ts";
import { messageByName, messages, presentAt, randomSample, sample, seededRandom, type Value } from "./samples.ts";

function roundTrip(
  message: MessageSpec,
  version: number,
  encode: (writer: Writer, version: number, value: Value) => void,
  decode: (reader: Reader, version: number) => unknown,
): void {
  for (const nulls of [false, true]) {
    const { input, expected } = sample(message, message.root, version, nulls, 1);
    const writer = new Writer(16);
    encode(writer, version, input);
    const bytes = writer.finish().slice();
    const reader = new Reader(bytes);
    const decoded = decode(reader, version);
    expect(reader.remaining).toBe(0);
    expect(decoded).toEqual(expected);
    const again = new Writer(16);
    encode(again, version, decoded as Value);
    expect(again.finish()).toEqual(bytes);
  }
}

/** Top-level fields absent at `version`, non-ignorable: a non-default value must be refused. */
function checkAbsentFieldsRefused(message: MessageSpec, version: number, encode: (writer: Writer, version: number, value: Value) => void): number {
  let checked = 0;
  for (const field of message.root.fields) {
    if (presentAt(message, field, version) || field.ignorable) continue;
    // A non-default value, as built for the first version that has the field.
    const at = field.versions.low;
    if (!presentAt(message, field, at)) continue;
    const { input } = sample(message, { ...message.root, fields: [field] }, at, false, 3);
    const value = input[field.name];
    if (value === undefined) continue;
    let error: unknown;
    try {
      encode(new Writer(), version, { [field.name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).code).toBe(ErrorCode.UNSUPPORTED_VERSION);
    checked++;
  }
  return checked;
}

describe("generated codecs round-trip at every version", () => {
  test("the table holds every API of the descriptors, keyed by api key", () => {
    const requests = messages.filter((message) => message.type === "request");
    expect(allApis.length).toBe(requests.length);
    expect(allApis.length).toBe(60);
    for (const request of requests) {
      const api = apiByKey.get(request.apiKey!) as AnyApi;
      expect(api.name).toBe(request.name.replace(/Request$/, ""));
      expect(api.minVersion).toBe(request.validVersions.low);
      expect(api.maxVersion).toBe(request.validVersions.high);
    }
    expect(apiByKey.get(0)?.maxVersion).toBe(11);
    expect(apiByKey.get(0)?.flexibleMinVersion).toBe(9);
    expect(apiByKey.get(18)?.flexibleMinVersion).toBe(3);
  });

  let versionsChecked = 0;
  let refusalsChecked = 0;
  for (const api of allApis) {
    test(`${api.apiKey} ${api.name} v${api.minVersion}-${api.maxVersion}`, () => {
      const request = messageByName.get(`${api.name}Request`)!;
      const response = messageByName.get(`${api.name}Response`)!;
      for (let version = api.minVersion; version <= api.maxVersion; version++) {
        roundTrip(request, version, api.encodeRequest, api.decodeRequest);
        roundTrip(response, version, api.encodeResponse, api.decodeResponse);
        refusalsChecked += checkAbsentFieldsRefused(request, version, api.encodeRequest);
        refusalsChecked += checkAbsentFieldsRefused(response, version, api.encodeResponse);
        versionsChecked++;
      }
    });
  }

  test("data codecs (consumer protocol) round-trip", () => {
    for (const codec of [ConsumerProtocolSubscriptionCodec, ConsumerProtocolAssignmentCodec]) {
      const message = messageByName.get(codec.name)!;
      for (let version = codec.minVersion; version <= codec.maxVersion; version++) {
        roundTrip(message, version, codec.encode as never, codec.decode);
      }
    }
  });

  test("counted every version", () => {
    const expectedVersions = allApis.reduce((sum, api) => sum + api.maxVersion - api.minVersion + 1, 0);
    expect(versionsChecked).toBe(expectedVersions);
    expect(refusalsChecked).toBeGreaterThan(50);
  });
});

describe("defaults and version rules", () => {
  test("a field absent at the version decodes as its descriptor default", () => {
    const fetch = apiByKey.get(1)!;
    const writer = new Writer();
    fetch.encodeRequest(writer, 2, { maxWaitMs: 500, minBytes: 1, topics: [{ topic: "t", partitions: [{ partition: 0, fetchOffset: 5n, partitionMaxBytes: 1000 }] }] });
    const decoded = fetch.decodeRequest(new Reader(writer.finish()), 2);
    expect(decoded.maxBytes).toBe(0x7fffffff); // "default": "0x7fffffff", absent before v3
    expect(decoded.isolationLevel).toBe(0);
    expect(decoded.sessionEpoch).toBe(-1);
    expect(decoded.replicaId).toBe(-1);
    expect(decoded.topics[0].partitions[0].currentLeaderEpoch).toBe(-1);
    expect(decoded.topics[0].partitions[0].fetchOffset).toBe(5n);
  });

  test("an ignorable field with a value is dropped at a version that lacks it", () => {
    const fetch = apiByKey.get(1)!;
    const writer = new Writer();
    fetch.encodeRequest(writer, 2, { maxBytes: 1000, isolationLevel: 1, topics: [] });
    expect(fetch.decodeRequest(new Reader(writer.finish()), 2).maxBytes).toBe(0x7fffffff);
  });

  test("a tagged field is written only when not default, and unknown tags are skipped", () => {
    const apiVersions = apiByKey.get(18)!;
    const plain = new Writer();
    apiVersions.encodeResponse(plain, 3, { errorCode: 0, apiKeys: [] });
    const tagged = new Writer();
    apiVersions.encodeResponse(tagged, 3, { errorCode: 0, apiKeys: [], finalizedFeaturesEpoch: 7n });
    expect(tagged.length).toBeGreaterThan(plain.length);
    expect(apiVersions.decodeResponse(new Reader(tagged.finish()), 3).finalizedFeaturesEpoch).toBe(7n);
    expect(apiVersions.decodeResponse(new Reader(plain.finish()), 3).finalizedFeaturesEpoch).toBe(-1n);

    // A tag this codec does not know (99), with 3 bytes of payload, in the top-level section.
    const bytes = plain.finish();
    const withUnknown = new Uint8Array([...bytes.subarray(0, bytes.length - 1), 1, 99, 3, 0xaa, 0xbb, 0xcc]);
    const decoded = apiVersions.decodeResponse(new Reader(withUnknown), 3);
    expect(decoded.errorCode).toBe(0);
  });

  test("a version outside the range is refused as UNSUPPORTED_VERSION", () => {
    const produce = apiByKey.get(0)!;
    expect(() => produce.decodeRequest(new Reader(new Uint8Array(64)), 12)).toThrow(KafkaError);
    expect(() => produce.encodeRequest(new Writer(), -1, {})).toThrow(/not supported/);
  });

  test("records are zero-copy views of the input", () => {
    const produce = apiByKey.get(0)!;
    const records = new Uint8Array(100).fill(9);
    const writer = new Writer();
    produce.encodeRequest(writer, 9, { acks: 1, timeoutMs: 5, topicData: [{ name: "t", partitionData: [{ index: 3, records }] }] });
    const input = writer.finish();
    const decoded = produce.decodeRequest(new Reader(input), 9);
    const view = decoded.topicData[0].partitionData[0].records as Uint8Array;
    expect(view.buffer).toBe(input.buffer);
    expect(view).toEqual(records);
  });
});

describe("records given as several views", () => {
  test("a Fetch partition's batches from several segments are written back to back, uncopied", () => {
    const fetch = apiByKey.get(1)!;
    const first = new Uint8Array(5000).fill(1);
    const second = new Uint8Array(6000).fill(2);
    const small = new Uint8Array([9, 9, 9]);
    for (const version of [4, 11, 12, 16]) {
      const writer = new Writer();
      fetch.encodeResponse(writer, version, {
        responses: [{ topic: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAQ", partitions: [{ partitionIndex: 0, records: [first, small, second] }] }],
      });
      const chunks = writer.finishChunks();
      expect(chunks).toContain(first);
      expect(chunks).toContain(second);
      const decoded = fetch.decodeResponse(new Reader(writer.finish()), version);
      expect(decoded.responses[0].partitions[0].records).toEqual(new Uint8Array([...first, ...small, ...second]));
    }
  });
});

describe("random values round-trip at every version", () => {
  const seed = Number(process.env.RUNNEL_FUZZ_SEED ?? 482);
  const perVersion = Number(process.env.RUNNEL_ROUND_TRIPS ?? 8);
  test(`${perVersion} random requests and responses per API version (seed ${seed})`, () => {
    const random = seededRandom(seed);
    let count = 0;
    for (const api of allApis) {
      for (const [message, encode, decode] of [
        [messageByName.get(`${api.name}Request`)!, api.encodeRequest, api.decodeRequest],
        [messageByName.get(`${api.name}Response`)!, api.encodeResponse, api.decodeResponse],
      ] as const) {
        for (let version = api.minVersion; version <= api.maxVersion; version++) {
          for (let round = 0; round < perVersion; round++) {
            const { input, expected } = randomSample(message, message.root, version, random);
            const writer = new Writer(8);
            encode(writer, version, input);
            const bytes = writer.finish().slice();
            const reader = new Reader(bytes);
            const decoded = decode(reader, version);
            expect(reader.remaining).toBe(0);
            expect(decoded).toEqual(expected);
            const again = new Writer(8);
            encode(again, version, decoded);
            expect(again.finish()).toEqual(bytes);
            count++;
          }
        }
      }
    }
    expect(count).toBeGreaterThan(2000);
  });
});
