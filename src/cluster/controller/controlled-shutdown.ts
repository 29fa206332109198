// The controller's side of a controlled shutdown (Kafka's ControlledShutdown; in KRaft a
// BrokerHeartbeat with wantShutDown), pure: the broker is marked inControlledShutdown (it may no
// longer lead or join an ISR), its leaderships move to other ISR members and it leaves the ISRs
// (partition-changes.ts' shutdownBrokerChanges, by partition-change.ts's rules). The answer
// `shouldShutDown` is true once, in the image after these records, it leads nothing; the same
// records then fence it (KRaft's SHUTDOWN_NOW: Metadata stops listing it before it stops, and no
// heartbeat unfences it again — only a new registration does). The broker then closes (after its
// own image reached the offset of the records, so its replicas have stepped down). Asking again is
// idempotent: nothing left to change, same answer.

import { ErrorCode, KafkaError } from "../../protocol/errors.ts";
import { applyRecords, type MetadataImage } from "../image.ts";
import { record, type MetadataRecord } from "../records.ts";
import { shutdownBrokerChanges } from "./partition-changes.ts";
import type { Outcome } from "./topic-operations.ts";

export interface ControlledShutdownRequest {
  brokerId: number;
  brokerEpoch: bigint;
}

export function controlledShutdown(image: MetadataImage, request: ControlledShutdownRequest): Outcome<{ shouldShutDown: boolean }> {
  const broker = image.brokers.get(request.brokerId);
  if (!broker) throw new KafkaError(ErrorCode.BROKER_ID_NOT_REGISTERED, `broker ${request.brokerId} is not registered`);
  if (broker.epoch !== request.brokerEpoch) {
    throw new KafkaError(ErrorCode.STALE_BROKER_EPOCH, `broker ${request.brokerId} epoch ${request.brokerEpoch} is not the registered ${broker.epoch}`);
  }
  const records: MetadataRecord[] = [];
  if (!broker.inControlledShutdown) {
    records.push(record("BrokerRegistrationChangeRecord", { brokerId: broker.id, brokerEpoch: broker.epoch, inControlledShutdown: true }));
  }
  const marked = records.length > 0 ? applyRecords(image, records).image : image;
  records.push(...shutdownBrokerChanges(marked, broker.id));
  const after = records.length > 0 ? applyRecords(image, records).image : image;
  const shouldShutDown = !leadsAnything(after, broker.id);
  if (shouldShutDown && !broker.fenced) {
    records.push(record("BrokerRegistrationChangeRecord", { brokerId: broker.id, brokerEpoch: broker.epoch, fenced: true }));
  }
  return { records, value: { shouldShutDown } };
}

function leadsAnything(image: MetadataImage, brokerId: number): boolean {
  for (const topic of image.topicsById.values()) for (const partition of topic.partitions) if (partition.leader === brokerId) return true;
  return false;
}
