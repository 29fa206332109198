// Before a group request reaches the coordinator: does this node coordinate the group now? The
// coordinator of a group is the leader of its __consumer_offsets partition (docs/replication.md
// §6): NONE when that is this node and the partition is loaded; NOT_COORDINATOR elsewhere (the
// client asks FindCoordinator again); COORDINATOR_LOAD_IN_PROGRESS while it loads;
// COORDINATOR_NOT_AVAILABLE when the coordinator is not running or the topic does not exist yet.

import { ErrorCode } from "../protocol/errors.ts";
import type { BrokerContext } from "./context.ts";

export function coordinatorError(broker: BrokerContext, groupId: string): number {
  return broker.groups ? broker.groups.coordinatorError(groupId) : ErrorCode.COORDINATOR_NOT_AVAILABLE;
}
