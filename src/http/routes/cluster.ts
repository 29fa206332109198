// Cluster and brokers, shaped on REST Proxy v3: GET /v3/clusters, /v3/clusters/{cluster_id},
// …/brokers, …/brokers/{broker_id}, …/brokers/{broker_id}/configs. Resources carry REST Proxy's
// "kind", "metadata.self" links and "related" links. …/quorum (Runnel's, no REST Proxy equivalent)
// shows the metadata quorum as DescribeQuorum does (503 while no quorum leader answers); POST
// …/quorum/voters {"voter_id": N} and DELETE …/quorum/voters/{voter_id} add and remove a voter
// (KIP-853's AddRaftVoter/RemoveRaftVoter) and answer the quorum once committed. Broker configs are read-only (Runnel has no
// dynamic broker configuration). Broker removal as Confluent's REST API shapes it (docs/elastic.md):
// DELETE …/brokers/{broker_id} starts draining the broker (202; its replicas and leaderships move to
// the others), GET …/brokers/{broker_id}/tasks/remove-broker shows the progress (replicas and
// leaderships left, reassignments in progress), POST …/brokers/{broker_id}/tasks/remove-broker/cancel
// stops it; GET …/brokers/-/partition-reassignments lists reassignments in progress. Does not: ACLs.

import type { Context } from "hono";
import type { BrokerInfo, ConfigInfo, DrainStatus, QuorumInfo } from "../backend.ts";
import { parseDocument, readBody, requestFormat, responseFormat } from "../encoding.ts";
import { HttpError } from "../errors.ts";
import { documentResponse, type HttpDeps, type Router } from "../routing.ts";
import { baseUrl, checkCluster, intParam } from "./common.ts";

export function clusterResource(c: Context, deps: HttpDeps, controllerId: number) {
  const self = `${baseUrl(c)}/v3/clusters/${deps.clusterId}`;
  return {
    kind: "KafkaCluster",
    metadata: { self, resource_name: `crn:///kafka=${deps.clusterId}` },
    cluster_id: deps.clusterId,
    controller: { related: `${self}/brokers/${controllerId}` },
    brokers: { related: `${self}/brokers` },
    broker_configs: { related: `${self}/broker-configs` },
    consumer_groups: { related: `${self}/consumer-groups` },
    topics: { related: `${self}/topics` },
  };
}

function brokerResource(c: Context, deps: HttpDeps, broker: BrokerInfo) {
  const self = `${baseUrl(c)}/v3/clusters/${deps.clusterId}/brokers/${broker.nodeId}`;
  return {
    kind: "KafkaBroker",
    metadata: { self, resource_name: `crn:///kafka=${deps.clusterId}/broker=${broker.nodeId}` },
    cluster_id: deps.clusterId,
    broker_id: broker.nodeId,
    host: broker.host,
    port: broker.port,
    rack: null,
    configs: { related: `${self}/configs` },
  };
}

function drainResource(c: Context, deps: HttpDeps, status: DrainStatus) {
  const done = status.replicasLeft === 0 && status.leadersLeft === 0;
  return {
    kind: "KafkaRemoveBrokerTask",
    metadata: { self: `${baseUrl(c)}/v3/clusters/${deps.clusterId}/brokers/${status.brokerId}/tasks/remove-broker` },
    cluster_id: deps.clusterId, broker_id: status.brokerId,
    task_status: !status.decommissioning ? "CANCELED" : done ? "SUCCESS" : "IN_PROGRESS",
    replicas_left: status.replicasLeft, leaders_left: status.leadersLeft, reassignments_in_progress: status.reassignmentsInProgress,
  };
}

/** A config entry as REST Proxy v3 shows it; `owner` adds topic_name or broker_id. */
export function configResource(self: string, deps: HttpDeps, kind: string, owner: Record<string, unknown>, config: ConfigInfo) {
  return {
    kind,
    metadata: { self: `${self}/${config.name}` },
    cluster_id: deps.clusterId,
    ...owner,
    name: config.name,
    value: config.value,
    is_default: config.isDefault,
    is_read_only: config.isReadOnly,
    is_sensitive: config.isSensitive,
    source: config.source,
    synonyms: config.synonyms,
    documentation: config.documentation,
  };
}

export function listResource(c: Context, kind: string, data: unknown[]) {
  return { kind, metadata: { self: `${baseUrl(c)}${c.req.path}`, next: null }, data };
}

export function registerClusterRoutes(router: Router, deps: HttpDeps): void {
  router.add({ method: "GET", path: "/v3/clusters", tag: "Cluster", summary: "The cluster (one per broker: this one)." }, async (c) => {
    const cluster = await deps.backend.cluster();
    return documentResponse(listResource(c, "KafkaClusterList", [clusterResource(c, deps, cluster.controllerId)]), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: "/v3/clusters/{cluster_id}", tag: "Cluster", summary: "Describe the cluster." }, async (c) => {
    checkCluster(c, deps);
    const cluster = await deps.backend.cluster();
    return documentResponse(clusterResource(c, deps, cluster.controllerId), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: "/v3/clusters/{cluster_id}/quorum", tag: "Cluster", summary: "The metadata quorum: leader, epoch, high watermark, each voter's log end and lag." }, async (c) => {
    checkCluster(c, deps);
    return quorumResponse(c, deps);
  });
  /**
   * The quorum document; `settleMs` > 0 after a voter change: a leader that removed itself has just
   * stepped down, so the quorum is asked again (every 100 ms) until a new leader answers.
   */
  async function quorumResponse(c: Context, deps: HttpDeps, settleMs = 0): Promise<Response> {
    const deadline = Date.now() + settleMs;
    let quorum = await deps.backend.quorum();
    while (quorum === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      quorum = await deps.backend.quorum();
    }
    if (quorum === null) throw new HttpError(503, 50301, "No metadata quorum leader answers right now.");
    const leaderEnd = quorum.voters.find((voter) => voter.replicaId === quorum.leaderId)?.logEndOffset ?? quorum.highWatermark;
    const replica = (state: QuorumInfo["voters"][number]) => ({
      replica_id: state.replicaId, log_end_offset: Number(state.logEndOffset), lag: state.logEndOffset < 0n ? null : Number(leaderEnd - state.logEndOffset),
      last_fetch_timestamp: state.lastFetchTimestamp, last_caught_up_timestamp: state.lastCaughtUpTimestamp,
    });
    return documentResponse({
      kind: "KafkaQuorum", metadata: { self: `${baseUrl(c)}${c.req.path}` }, cluster_id: deps.clusterId,
      leader_id: quorum.leaderId, leader_epoch: quorum.leaderEpoch, high_watermark: Number(quorum.highWatermark),
      voters: quorum.voters.map(replica), observers: quorum.observers.map(replica),
    }, responseFormat(c.req.header("accept")));
  }
  router.add({ method: "POST", path: "/v3/clusters/{cluster_id}/quorum/voters", tag: "Cluster", summary: "Add a voter to the metadata quorum (KIP-853): body {\"voter_id\": N}, optionally \"host\" and \"port\" of its CONTROLLER listener; the node must run as a caught-up observer. Answers the quorum once the change is committed." }, async (c) => {
    checkCluster(c, deps);
    const body = parseDocument(await readBody(c.req.raw, deps.config["http.request.max.bytes"]), requestFormat(c.req.header("content-type"), ["json", "cbor"]) as "json" | "cbor") as { voter_id?: unknown; host?: unknown; port?: unknown } | undefined;
    const voterId = body?.voter_id;
    if (typeof voterId !== "number" || !Number.isInteger(voterId) || voterId < 0) throw new HttpError(400, 400, "voter_id must be a node id (an integer ≥ 0).");
    const host = body?.host;
    const port = body?.port;
    if ((host === undefined) !== (port === undefined)) throw new HttpError(400, 400, "give both host and port of the voter's CONTROLLER listener, or neither.");
    if (host !== undefined && (typeof host !== "string" || host === "" || typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)) throw new HttpError(400, 400, "host must be a name and port a port number.");
    await deps.backend.changeVoters({ add: voterId, endpoint: host === undefined ? undefined : { host: host as string, port: port as number } });
    return quorumResponse(c, deps, 30_000); // a removed leader's successor may take seconds on a loaded machine
  });
  router.add({ method: "DELETE", path: "/v3/clusters/{cluster_id}/quorum/voters/{voter_id}", tag: "Cluster", summary: "Remove a voter from the metadata quorum (KIP-853); it stays a broker. Answers the quorum once the change is committed." }, async (c) => {
    checkCluster(c, deps);
    await deps.backend.changeVoters({ remove: intParam(c, "voter_id") });
    return quorumResponse(c, deps, 30_000); // a removed leader's successor may take seconds on a loaded machine
  });
  router.add({ method: "GET", path: "/v3/clusters/{cluster_id}/brokers", tag: "Cluster", summary: "List the brokers." }, async (c) => {
    checkCluster(c, deps);
    const cluster = await deps.backend.cluster();
    return documentResponse(listResource(c, "KafkaBrokerList", cluster.brokers.map((broker) => brokerResource(c, deps, broker))), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: "/v3/clusters/{cluster_id}/brokers/{broker_id}", tag: "Cluster", summary: "Describe a broker." }, async (c) => {
    checkCluster(c, deps);
    const id = intParam(c, "broker_id");
    const broker = (await deps.backend.cluster()).brokers.find((entry) => entry.nodeId === id);
    if (!broker) throw new HttpError(404, 404, `Broker ${id} not found.`);
    return documentResponse(brokerResource(c, deps, broker), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "DELETE", path: "/v3/clusters/{cluster_id}/brokers/{broker_id}", tag: "Cluster", summary: "Remove (decommission) a broker: its replicas and leaderships move to the others; stop it once drained." }, async (c) => {
    checkCluster(c, deps);
    const id = intParam(c, "broker_id");
    if ((await deps.backend.drainStatus(id)) === undefined) throw new HttpError(404, 404, `Broker ${id} not found.`);
    await deps.backend.decommissionBroker(id, true);
    return c.json(drainResource(c, deps, (await deps.backend.drainStatus(id))!), 202);
  });
  router.add({ method: "GET", path: "/v3/clusters/{cluster_id}/brokers/{broker_id}/tasks/remove-broker", tag: "Cluster", summary: "Progress of a broker's removal (replicas and leaderships left)." }, async (c) => {
    checkCluster(c, deps);
    const id = intParam(c, "broker_id");
    const status = await deps.backend.drainStatus(id);
    if (status === undefined) throw new HttpError(404, 404, `Broker ${id} not found.`);
    return documentResponse(drainResource(c, deps, status), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "POST", path: "/v3/clusters/{cluster_id}/brokers/{broker_id}/tasks/remove-broker/cancel", tag: "Cluster", summary: "Stop removing a broker (moves already done stay)." }, async (c) => {
    checkCluster(c, deps);
    const id = intParam(c, "broker_id");
    if ((await deps.backend.drainStatus(id)) === undefined) throw new HttpError(404, 404, `Broker ${id} not found.`);
    await deps.backend.decommissionBroker(id, false);
    return documentResponse(drainResource(c, deps, (await deps.backend.drainStatus(id))!), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: "/v3/clusters/{cluster_id}/brokers/-/partition-reassignments", tag: "Cluster", summary: "Partition reassignments in progress." }, async (c) => {
    checkCluster(c, deps);
    const data = (await deps.backend.listReassignments()).map((entry) => ({
      kind: "KafkaReassignment", cluster_id: deps.clusterId, topic_name: entry.topic, partition_id: entry.partition,
      replicas: entry.replicas, adding_replicas: entry.addingReplicas, removing_replicas: entry.removingReplicas,
    }));
    return documentResponse(listResource(c, "KafkaReassignmentList", data), responseFormat(c.req.header("accept")));
  });
  router.add({ method: "GET", path: "/v3/clusters/{cluster_id}/brokers/{broker_id}/configs", tag: "Configs", summary: "A broker's configs (read-only)." }, async (c) => {
    checkCluster(c, deps);
    const id = intParam(c, "broker_id");
    if (!(await deps.backend.cluster()).brokers.some((entry) => entry.nodeId === id)) throw new HttpError(404, 404, `Broker ${id} not found.`);
    const self = `${baseUrl(c)}/v3/clusters/${deps.clusterId}/brokers/${id}/configs`;
    const configs = await deps.backend.describeBrokerConfigs(id);
    const data = configs.map((config) => configResource(self, deps, "KafkaBrokerConfig", { broker_id: id }, config));
    return documentResponse(listResource(c, "KafkaBrokerConfigList", data), responseFormat(c.req.header("accept")));
  });
}
