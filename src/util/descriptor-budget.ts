// How a node shares its file descriptors (RLIMIT_NOFILE) between segment files and client
// connections, keeping a reserve for everything else (the listeners, index files written at a roll,
// checkpoint and metadata files, the HTTP server, the runtime's own). Connections beyond their share
// are closed as soon as they are accepted, so the listener itself never runs out: an accept that
// fails with EMFILE leaves the socket pending and the event loop spinning at 100% CPU (seen with
// Bun 1.4.4), which no callback reports.

import { assert } from "./assert.ts";

export interface DescriptorBudget {
  /** The soft limit the shares are taken from. */
  limit: number;
  /** Kept free for the listeners, index and metadata files, the runtime. */
  reserve: number;
  /** Most segment files open at once (storage/descriptors.ts). */
  segmentFiles: number;
  /** Most client connections at once (the Kafka listener closes any beyond it). */
  connections: number;
  /** Most logs closed at once at shutdown (each may hold two index files open). */
  logsClosing: number;
}

export function descriptorBudget(limit: number): DescriptorBudget {
  assert(limit > 0, "a descriptor limit is positive");
  const finite = Math.min(limit, 1 << 20);
  const reserve = Math.min(256, Math.max(32, Math.floor(finite / 16)));
  const usable = Math.max(32, finite - reserve);
  const segmentFiles = Math.max(16, Math.floor(usable / 2));
  const connections = Math.max(16, usable - segmentFiles);
  const logsClosing = Math.max(1, Math.min(64, Math.floor(reserve / 8)));
  return { limit, reserve, segmentFiles, connections, logsClosing };
}
