// A minimal Kafka responder built only from the protocol layer, for testing the codecs against
// real clients (kcat/librdkafka, kafka-python, kafkajs): it answers ApiVersions, Metadata,
// InitProducerId and Produce (recording every request frame and every produced `records` blob),
// ListOffsets and Fetch for batches a test puts in with `serve()` (one partition per topic), and a
// one-member consumer group (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch,
// OffsetCommit, LeaveGroup) that makes every joiner the leader and hands it back its own assignment.
// It is NOT the broker (no log, no groups); it exists so that protocol tests see real client bytes.

import type { Socket } from "bun";
import type { AnyApi } from "../../src/protocol/api.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { allApis, apiByKey } from "../../src/protocol/generated/index.ts";
import { decodeRequestHeader, encodeResponseFrame, type RequestHeader } from "../../src/protocol/headers.ts";
import { randomUuid, Reader } from "../../src/protocol/primitives.ts";

export interface CapturedRequest {
  readonly header: RequestHeader;
  readonly frame: Uint8Array;
  readonly body: unknown;
}

export interface CapturedRecords {
  readonly topic: string;
  readonly partition: number;
  readonly produceVersion: number;
  readonly records: Uint8Array;
}

export interface CaptureBroker extends AsyncDisposable {
  readonly port: number;
  readonly requests: CapturedRequest[];
  readonly produced: CapturedRecords[];
  /** Unexpected errors while serving (decode failures etc.). */
  readonly errors: string[];
  /** Batches (base offsets already set, contiguous from 0) that Fetch returns for `topic`, partition 0. */
  serve(topic: string, batches: Uint8Array[], endOffset: bigint): void;
}

interface ConnectionState {
  pending: Uint8Array;
}

const topicIds = new Map<string, string>();
function topicId(name: string): string {
  let id = topicIds.get(name);
  if (!id) {
    id = randomUuid();
    topicIds.set(name, id);
  }
  return id;
}

export function startCaptureBroker(): CaptureBroker {
  const requests: CapturedRequest[] = [];
  const produced: CapturedRecords[] = [];
  const errors: string[] = [];
  let nextOffset = 0n;
  let port = 0;
  const served = new Map<string, { batches: Uint8Array[]; endOffset: bigint }>();

  const respond = (socket: Socket<ConnectionState>, api: AnyApi, version: number, correlationId: number, body: unknown): void => {
    for (const chunk of encodeResponseFrame(api, version, correlationId, body)) socket.write(chunk);
  };

  const handle = (socket: Socket<ConnectionState>, frame: Uint8Array): void => {
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    const api = apiByKey.get(header.requestApiKey);
    if (!api) {
      socket.end();
      return;
    }
    const version = header.requestApiVersion;
    const correlationId = header.correlationId;
    if (api.apiKey === 18 && version > api.maxVersion) {
      // A newer client: answer in the v0 layout with our ranges, so it can retry.
      respond(socket, api, 0, correlationId, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiRanges() });
      return;
    }
    const body = api.decodeRequest(reader, version);
    requests.push({ header, frame: frame.slice(), body });
    switch (api.apiKey) {
      case 18:
        respond(socket, api, version, correlationId, { errorCode: 0, apiKeys: apiRanges(), throttleTimeMs: 0 });
        return;
      case 3: {
        const names: string[] = (body.topics ?? []).map((topic: { name: string | null }) => topic.name ?? "");
        respond(socket, api, version, correlationId, {
          brokers: [{ nodeId: 1, host: "127.0.0.1", port, rack: null }],
          clusterId: "capture-cluster",
          controllerId: 1,
          topics: names.map((name) => ({
            errorCode: 0,
            name,
            topicId: topicId(name),
            isInternal: false,
            partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
          })),
        });
        return;
      }
      case 22:
        respond(socket, api, version, correlationId, { errorCode: 0, producerId: 4242n, producerEpoch: 0 });
        return;
      case 2: {
        // ListOffsets: -2 (earliest) is 0, anything else the end.
        const topics = body.topics.map((topic: { name: string; partitions: { partitionIndex: number; timestamp: bigint }[] }) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition) => {
            const end = served.get(topic.name)?.endOffset ?? 0n;
            const offset = partition.timestamp === -2n ? 0n : end;
            // v0 answers with a list of offsets, v1+ with one (each is refused at the other versions).
            return version === 0
              ? { partitionIndex: partition.partitionIndex, errorCode: 0, oldStyleOffsets: [offset] }
              : { partitionIndex: partition.partitionIndex, errorCode: 0, timestamp: -1n, offset };
          }),
        }));
        respond(socket, api, version, correlationId, { topics });
        return;
      }
      case 1: {
        // Fetch: everything served from the asked offset on (whole batches), or nothing at the end.
        const responses = body.topics.map((topic: { topic: string; topicId: string; partitions: { partition: number; fetchOffset: bigint }[] }) => ({
          topic: topic.topic,
          topicId: topic.topicId,
          partitions: topic.partitions.map((partition) => {
            const entry = served.get(topic.topic);
            const end = entry?.endOffset ?? 0n;
            const records = entry && partition.fetchOffset < end ? entry.batches : [];
            return { partitionIndex: partition.partition, errorCode: 0, highWatermark: end, lastStableOffset: end, logStartOffset: 0n, records };
          }),
        }));
        respond(socket, api, version, correlationId, { responses });
        return;
      }
      case 0: {
        const responses = body.topicData.map((topic: { name: string; partitionData: { index: number; records: Uint8Array | null }[] }) => ({
          name: topic.name,
          partitionResponses: topic.partitionData.map((partition) => {
            const records = partition.records ?? new Uint8Array(0);
            produced.push({ topic: topic.name, partition: partition.index, produceVersion: version, records: records.slice() });
            const baseOffset = nextOffset;
            nextOffset += 1000n;
            return { index: partition.index, errorCode: 0, baseOffset, logAppendTimeMs: -1n, logStartOffset: 0n };
          }),
        }));
        if (body.acks !== 0) respond(socket, api, version, correlationId, { responses, throttleTimeMs: 0 });
        return;
      }
      case 10:
      case 11:
      case 12:
      case 13:
      case 14:
      case 8:
      case 9:
        respond(socket, api, version, correlationId, groupResponse(api.apiKey, version, body, port));
        return;
      default:
        socket.end();
    }
  };

  const server = Bun.listen<ConnectionState>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { pending: new Uint8Array(0) };
      },
      data(socket, chunk) {
        const state = socket.data;
        const joined = new Uint8Array(state.pending.length + chunk.length);
        joined.set(state.pending);
        joined.set(chunk, state.pending.length);
        let position = 0;
        while (joined.length - position >= 4) {
          const size = new DataView(joined.buffer, position, 4).getInt32(0);
          if (joined.length - position - 4 < size) break;
          const frame = joined.subarray(position + 4, position + 4 + size);
          position += 4 + size;
          try {
            handle(socket, frame);
          } catch (error) {
            errors.push(String(error));
            socket.end();
            return;
          }
        }
        state.pending = joined.slice(position);
      },
    },
  });
  port = server.port;
  return {
    port,
    requests,
    produced,
    errors,
    serve(topic, batches, endOffset) {
      served.set(topic, { batches, endOffset });
    },
    async [Symbol.asyncDispose]() {
      server.stop(true);
    },
  };
}

function apiRanges(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return allApis.map((api) => ({ apiKey: api.apiKey, minVersion: api.minVersion, maxVersion: api.maxVersion }));
}

interface GroupState {
  assignment: Uint8Array;
}
const group: GroupState = { assignment: new Uint8Array(0) };

/**
 * Answers for a one-member group. Each field is set only at the versions that have it: the
 * encoder refuses a non-default value at a version without the field (as Kafka does).
 */
// biome-ignore lint: request bodies of several APIs.
function groupResponse(apiKey: number, version: number, body: any, port: number): unknown {
  switch (apiKey) {
    case 10:
      return version < 4
        ? { errorCode: 0, nodeId: 1, host: "127.0.0.1", port }
        : { coordinators: body.coordinatorKeys.map((key: string) => ({ key, nodeId: 1, host: "127.0.0.1", port, errorCode: 0 })) };
    case 11: {
      const memberId = body.memberId || "member-1";
      const protocol = body.protocols[0];
      return {
        errorCode: 0,
        generationId: 1,
        ...(version >= 7 ? { protocolType: body.protocolType } : {}),
        protocolName: protocol.name,
        leader: memberId,
        memberId,
        members: [{ memberId, groupInstanceId: null, metadata: protocol.metadata }],
      };
    }
    case 14: {
      const own = body.assignments.find((assignment: { memberId: string }) => assignment.memberId === body.memberId);
      if (own) group.assignment = own.assignment.slice();
      return { errorCode: 0, ...(version >= 5 ? { protocolType: body.protocolType, protocolName: body.protocolName } : {}), assignment: group.assignment };
    }
    case 12:
      return { errorCode: 0 };
    case 13:
      return version >= 3
        ? { errorCode: 0, members: body.members.map((member: { memberId: string; groupInstanceId: string | null }) => ({ ...member, errorCode: 0 })) }
        : { errorCode: 0 };
    case 8:
      return {
        topics: body.topics.map((topic: { name: string; partitions: { partitionIndex: number }[] }) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition) => ({ partitionIndex: partition.partitionIndex, errorCode: 0 })),
        })),
      };
    case 9: {
      const partitions = (topic: { partitionIndexes: number[] }) =>
        topic.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, metadata: "", errorCode: 0 }));
      if (version >= 8) {
        return {
          groups: body.groups.map((entry: { groupId: string; topics: { name: string; partitionIndexes: number[] }[] | null }) => ({
            groupId: entry.groupId,
            topics: (entry.topics ?? []).map((topic) => ({ name: topic.name, partitions: partitions(topic) })),
          })),
        };
      }
      return { topics: (body.topics ?? []).map((topic: { name: string; partitionIndexes: number[] }) => ({ name: topic.name, partitions: partitions(topic) })) };
    }
  }
  throw new Error(`no group answer for API ${apiKey}`);
}
