// The controller's broker lifecycle and producer-id operations as pure functions of the image
// (docs/replication.md §3). A broker registers fenced (a new process replaces its previous
// registration, whose leaderships and ISR memberships it loses: its unflushed data may be gone);
// its heartbeat unfences it once its metadata has caught up with its own registration, and it then
// takes the leadership of every leaderless partition it can lead. Producer ids are handed out in
// committed blocks, so none is ever handed out twice.
//
// Not yet (the next steps of issue 9): heartbeat timers and fencing by broker.session.timeout.ms,
// controlled shutdown, unregistration. A one-node cluster registers and heartbeats once at start.

import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import type { BrokerRegistration, MetadataImage } from "../image.ts";
import { record, type Endpoint } from "../records.ts";
import { fenceBrokerChanges, unfenceBrokerChanges } from "./partition-changes.ts";
import type { Outcome } from "./topic-operations.ts";

/** Kafka's producer id block size. */
export const producerIdBlockSize = 1000n;
/** Producer ids are positive int64s. */
const producerIdMax = 0x7fffffffffffffffn;

export interface BrokerRegistrationRequest {
  brokerId: number;
  /** Random per process start. */
  incarnationId: string;
  endpoints: Endpoint[];
  rack: string | null;
  /** The broker's storage found its clean-shutdown marker. */
  cleanShutdown: boolean;
}

export interface BrokerHeartbeatRequest {
  brokerId: number;
  brokerEpoch: bigint;
  /** The offset of the newest metadata the broker has applied. */
  currentMetadataOffset: bigint;
}

export interface ProducerIdBlock {
  firstProducerId: bigint;
  size: bigint;
}

/** Register a broker; the value is its broker epoch (`brokerEpoch`: the registration's offset). */
export function registerBroker(image: MetadataImage, request: BrokerRegistrationRequest, brokerEpoch: bigint, uncleanDefault = false): Outcome<bigint> {
  const existing = image.brokers.get(request.brokerId);
  // The same process asking again (a retry): same answer, nothing new.
  if (existing && existing.incarnationId === request.incarnationId) return { records: [], value: existing.epoch };
  const records = [
    record("RegisterBrokerRecord", {
      brokerId: request.brokerId,
      incarnationId: request.incarnationId,
      brokerEpoch,
      endPoints: request.endpoints.map((endpoint) => ({ ...endpoint })),
      rack: request.rack,
      fenced: true,
      inControlledShutdown: false,
      cleanShutdown: request.cleanShutdown,
    }),
    // A new process: what the old one led is taken away until this one is caught up (unfenced).
    ...fenceBrokerChanges(image, request.brokerId, request.cleanShutdown ? "brokerFenced" : "brokerUncleanRestart", uncleanDefault),
  ];
  return { records, value: brokerEpoch };
}

function registered(image: MetadataImage, brokerId: number, brokerEpoch: bigint): BrokerRegistration {
  const broker = image.brokers.get(brokerId);
  if (!broker) throw new KafkaError(ErrorCode.BROKER_ID_NOT_REGISTERED, `broker ${brokerId} is not registered`);
  if (broker.epoch !== brokerEpoch) {
    throw new KafkaError(ErrorCode.STALE_BROKER_EPOCH, `broker ${brokerId} epoch ${brokerEpoch} is not the registered ${broker.epoch}`);
  }
  return broker;
}

/** A heartbeat; the value says whether the broker is (still) fenced. */
export function brokerHeartbeat(image: MetadataImage, request: BrokerHeartbeatRequest, uncleanDefault = false): Outcome<{ isFenced: boolean }> {
  const broker = registered(image, request.brokerId, request.brokerEpoch);
  // A broker fenced at the end of its controlled shutdown stays fenced until it registers again.
  if (!broker.fenced || broker.inControlledShutdown || request.currentMetadataOffset < broker.epoch) return { records: [], value: { isFenced: broker.fenced } };
  return {
    records: [
      record("BrokerRegistrationChangeRecord", { brokerId: broker.id, brokerEpoch: broker.epoch, fenced: false }),
      ...unfenceBrokerChanges(image, broker.id, uncleanDefault),
    ],
    value: { isFenced: false },
  };
}

/**
 * Fence a broker (its session timed out, or its heartbeat connection closed): out of every ISR that
 * keeps another member, its leaderships moved. Nothing when it is unknown, already fenced, or
 * registered again since (`brokerEpoch` names the registration the session belonged to).
 */
export function fenceBroker(image: MetadataImage, brokerId: number, brokerEpoch: bigint, uncleanDefault = false): Outcome<boolean> {
  const broker = image.brokers.get(brokerId);
  if (!broker || broker.fenced || broker.epoch !== brokerEpoch) return { records: [], value: false };
  return {
    records: [
      record("BrokerRegistrationChangeRecord", { brokerId, brokerEpoch: broker.epoch, fenced: true }),
      ...fenceBrokerChanges(image, brokerId, "brokerFenced", uncleanDefault),
    ],
    value: true,
  };
}

export function allocateProducerIds(image: MetadataImage, brokerId: number, brokerEpoch: bigint): Outcome<ProducerIdBlock> {
  registered(image, brokerId, brokerEpoch);
  const first = image.nextProducerId;
  if (first + producerIdBlockSize > producerIdMax) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "producer ids exhausted");
  return {
    records: [record("ProducerIdsRecord", { brokerId, brokerEpoch, nextProducerId: first + producerIdBlockSize })],
    value: { firstProducerId: first, size: producerIdBlockSize },
  };
}
