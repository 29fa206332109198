// The new active controller's probe of the brokers (controller/broker-sessions.ts,
// docs/replication.md §3): a broker whose internal listener is gone is fenced at once at its
// registered epoch; one that answers or gives no answer in time (a stopped process, a partitioned
// network) keeps its session; a broker that registered again while the probe ran is left alone.
// The metadata log is a real local one behind a wrapper that lets the test move its leadership.

import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProbeOutcome } from "../../src/client/peer-connections.ts";
import { BrokerSessions, QuorumController } from "../../src/cluster/controller/index.ts";
import { LocalMetadataLog } from "../../src/cluster/local-metadata-log.ts";
import type { CommittedBatch, MetadataLeader, MetadataLog } from "../../src/cluster/metadata-log.ts";
import type { MetadataRecord } from "../../src/cluster/records.ts";
import { loadBrokerConfig } from "../../src/config/index.ts";
import { recordingLogger } from "../storage/conformance-suite.ts";

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** A local metadata log whose announced leadership the test moves (it always appends as the leader). */
class MovableLeaderLog implements MetadataLog {
  private current: MetadataLeader = { leaderId: 2, epoch: 1 };
  private readonly listeners = new Set<(leader: MetadataLeader) => void>();
  constructor(private readonly inner: LocalMetadataLog) {}
  get nodeId(): number { return this.inner.nodeId; }
  get committedOffset(): bigint { return this.inner.committedOffset; }
  get nextOffset(): bigint { return this.inner.nextOffset; }
  get leader(): MetadataLeader { return this.current; }
  onCommit(listener: (batch: CommittedBatch) => void): void { this.inner.onCommit(listener); }
  onLeaderChange(listener: (leader: MetadataLeader) => void): () => void {
    this.listeners.add(listener);
    listener(this.current);
    return () => void this.listeners.delete(listener);
  }
  moveLeader(leaderId: number, epoch: number): void {
    this.current = { leaderId, epoch };
    for (const listener of this.listeners) listener(this.current);
  }
  append(records: readonly MetadataRecord[]): Promise<bigint> { return this.inner.append(records); }
  saveSnapshot(): Promise<void> { return Promise.resolve(); }
  start(): Promise<void> { return this.inner.start(); }
  close(): Promise<void> { return this.inner.close(); }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  return { promise: new Promise<T>((done) => (resolve = done)), resolve };
}

const endpoint = (port: number) => [{ name: "PLAINTEXT", host: "127.0.0.1", port, securityProtocol: 0 }];

async function waitUntil(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("a new active controller fences the brokers whose listener is gone, and only those", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runnel-sessions-"));
  directories.push(dataDir);
  const config = loadBrokerConfig({ overrides: [["log.dirs", dataDir]] });
  const log = new MovableLeaderLog(await LocalMetadataLog.open({ dataDir, nodeId: 1, brokerConfig: config.values, logger: recordingLogger() }));
  const controller = new QuorumController({ log, config, logger: recordingLogger(), random: () => 0 });
  const probes = new Map<number, ReturnType<typeof deferred<ProbeOutcome>>>();
  const sessions = new BrokerSessions({
    controller, sessionTimeoutMs: 120_000, selfId: 1, logger: recordingLogger(),
    probe: (brokerId) => {
      const probe = deferred<ProbeOutcome>();
      probes.set(brokerId, probe);
      return probe.promise;
    },
  });
  try {
    await log.start();
    // Brokers 1-5 registered and unfenced under an earlier controller (this node, epoch 1).
    log.moveLeader(1, 1);
    const epochs = new Map<number, bigint>();
    for (const id of [1, 2, 3, 4, 5]) {
      const registered = await controller.registerBroker({ brokerId: id, incarnationId: `first-${id}`, endpoints: endpoint(9000 + id), rack: null, cleanShutdown: true });
      await controller.brokerHeartbeat({ brokerId: id, brokerEpoch: registered.value, currentMetadataOffset: registered.offset });
      epochs.set(id, registered.value);
    }
    expect([...controller.committedImage.brokers.values()].every((broker) => !broker.fenced)).toBe(true);
    // Leadership moves away and back: this node is the active controller of epoch 3; it probes
    // every unfenced broker but itself.
    log.moveLeader(2, 2);
    probes.clear();
    log.moveLeader(1, 3);
    expect([...probes.keys()].sort()).toEqual([2, 3, 4, 5]);
    // Broker 5's process restarted while its probe ran: the new registration must survive "gone".
    const again = await controller.registerBroker({ brokerId: 5, incarnationId: "second-5", endpoints: endpoint(9005), rack: null, cleanShutdown: true });
    await controller.brokerHeartbeat({ brokerId: 5, brokerEpoch: again.value, currentMetadataOffset: again.offset });
    expect(controller.committedImage.brokers.get(5)!.fenced).toBe(false);
    probes.get(2)!.resolve("gone");
    probes.get(3)!.resolve("no answer");
    probes.get(4)!.resolve("answered");
    probes.get(5)!.resolve("gone");
    await waitUntil("broker 2 fenced", () => controller.committedImage.brokers.get(2)!.fenced);
    await controller.proposalsSettled();
    const brokers = controller.committedImage.brokers;
    expect(brokers.get(2)!.epoch).toBe(epochs.get(2)!);
    expect([3, 4, 5].map((id) => brokers.get(id)!.fenced)).toEqual([false, false, false]);
    expect(brokers.get(5)!.epoch).toBe(again.value);

    // A probe answered after this node lost the leadership decides nothing.
    log.moveLeader(2, 4);
    probes.clear();
    log.moveLeader(1, 5);
    const late = probes.get(3)!;
    log.moveLeader(3, 6);
    late.resolve("gone");
    log.moveLeader(1, 7);
    for (const probe of probes.values()) probe.resolve("answered");
    // Let the probes' callbacks run (a fencing they started is then among the proposals).
    await new Promise((resolve) => setImmediate(resolve));
    await controller.proposalsSettled();
    expect(controller.committedImage.brokers.get(3)!.fenced).toBe(false);
  } finally {
    sessions.close();
    await log.close();
  }
});
