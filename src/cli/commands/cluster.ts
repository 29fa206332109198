// `runnel cluster`: the cluster id, the brokers and the controller (DescribeCluster, or Metadata
// on brokers without it), and per topic how many partitions lack a leader or have replicas out
// of sync; --partitions lists every partition's leader, replicas and in-sync replicas; --quorum shows
// the metadata quorum as `kafka-metadata-quorum describe --status --replication` does (DescribeQuorum).

import { describeCluster, describeQuorum, listTopics, type QuorumInfo } from "../../client/index.ts";
import type { CliIo } from "../io.ts";
import { type Command, ExitCode, withClient } from "../command.ts";
import { connectionFlags, helpFlag } from "../flags.ts";
import { printJson, printTable } from "../output.ts";

export const clusterCommand: Command = {
  name: "cluster",
  summary: "Show the cluster: brokers, controller, partition leaders, replicas and in-sync replicas.",
  flags: [
    { name: "partitions", kind: "bool", description: "list every partition (leader, replicas, ISR)" },
    { name: "quorum", kind: "bool", description: "show the metadata quorum: leader, epoch, high watermark, each voter's lag" },
    { name: "json", kind: "bool", description: "print JSON" },
    ...connectionFlags, helpFlag,
  ],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const cluster = await describeCluster(client);
    if (flags.bool("quorum")) {
      const quorum = await describeQuorum(client);
      if (flags.bool("json")) await printJson(io, { clusterId: cluster.clusterId, ...quorum });
      else await printQuorum(io, cluster.clusterId, quorum);
      return ExitCode.ok;
    }
    const topics = await listTopics(client, { internal: true });
    const partitions = topics.flatMap((topic) => topic.partitions.map((partition) => ({ topic: topic.name, ...partition })));
    const underReplicated = (entry: { isr: readonly number[]; replicas: readonly number[] }) => entry.isr.length < entry.replicas.length;
    if (flags.bool("json")) {
      await printJson(io, { ...cluster, topics: topics.map((topic) => ({ name: topic.name, id: topic.id, internal: topic.internal, partitions: topic.partitions })) });
      return ExitCode.ok;
    }
    await io.write(`Cluster: ${cluster.clusterId ?? "-"}\tController: ${cluster.controllerId}\n`);
    await printTable(io, ["BROKER", "HOST", "PORT", "RACK"], cluster.brokers.map((broker) => [broker.nodeId, broker.host, broker.port, broker.rack]));
    const offline = partitions.filter((entry) => entry.leader < 0).length;
    await io.write(`\nTopics: ${topics.length}\tPartitions: ${partitions.length}\tWithout leader: ${offline}\tUnder-replicated: ${partitions.filter(underReplicated).length}\n`);
    if (flags.bool("partitions")) {
      await printTable(io, ["TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR"], partitions.map((entry) => [
        entry.topic, entry.partition, entry.leader, entry.leaderEpoch, entry.replicas.join(","), entry.isr.join(","),
      ]));
    } else {
      await printTable(io, ["TOPIC", "PARTITIONS", "REPLICAS", "WITHOUT-LEADER", "UNDER-REPLICATED"], topics.map((topic) => [
        topic.name, topic.partitions.length, topic.partitions[0]?.replicas.length ?? 0,
        topic.partitions.filter((entry) => entry.leader < 0).length, topic.partitions.filter(underReplicated).length,
      ]));
    }
    return ExitCode.ok;
  }),
};

async function printQuorum(io: CliIo, clusterId: string | null, quorum: QuorumInfo): Promise<void> {
  const now = Date.now();
  const leaderEnd = quorum.voters.find((voter) => voter.replicaId === quorum.leaderId)?.logEndOffset ?? quorum.highWatermark;
  const followers = [...quorum.voters, ...quorum.observers].filter((replica) => replica.replicaId !== quorum.leaderId);
  const lags = followers.map((replica) => (replica.logEndOffset < 0n ? leaderEnd : leaderEnd - replica.logEndOffset));
  const lagTimes = followers.map((replica) => (replica.lastCaughtUpTimestamp < 0 ? -1 : Math.max(0, now - replica.lastCaughtUpTimestamp)));
  await io.write([
    `ClusterId:              ${clusterId ?? "-"}`,
    `LeaderId:               ${quorum.leaderId}`,
    `LeaderEpoch:            ${quorum.leaderEpoch}`,
    `HighWatermark:          ${quorum.highWatermark}`,
    `MaxFollowerLag:         ${lags.reduce((max, lag) => (lag > max ? lag : max), 0n)}`,
    `MaxFollowerLagTimeMs:   ${lagTimes.reduce((max, lag) => Math.max(max, lag), 0)}`,
    `CurrentVoters:          [${quorum.voters.map((voter) => voter.replicaId).join(",")}]`,
    `CurrentObservers:       [${quorum.observers.map((observer) => observer.replicaId).join(",")}]`,
    "",
  ].join("\n"));
  const rows = [...quorum.voters.map((replica) => ({ replica, status: replica.replicaId === quorum.leaderId ? "Leader" : "Follower" })),
    ...quorum.observers.map((replica) => ({ replica, status: "Observer" }))];
  await printTable(io, ["NODE", "LOG-END-OFFSET", "LAG", "LAST-FETCH-MS-AGO", "LAST-CAUGHT-UP-MS-AGO", "STATUS"], rows.map(({ replica, status }) => [
    replica.replicaId, replica.logEndOffset, replica.logEndOffset < 0n ? "-" : leaderEnd - replica.logEndOffset,
    replica.lastFetchTimestamp < 0 ? "-" : Math.max(0, now - replica.lastFetchTimestamp),
    replica.lastCaughtUpTimestamp < 0 ? "-" : Math.max(0, now - replica.lastCaughtUpTimestamp), status,
  ]));
}
