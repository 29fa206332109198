// `runnel cluster`: the cluster id, the brokers and the controller (DescribeCluster, or Metadata
// on brokers without it), and per topic how many partitions lack a leader or have replicas out
// of sync; --partitions lists every partition's leader, replicas and in-sync replicas.

import { describeCluster, listTopics } from "../../client/index.ts";
import { type Command, ExitCode, withClient } from "../command.ts";
import { connectionFlags, helpFlag } from "../flags.ts";
import { printJson, printTable } from "../output.ts";

export const clusterCommand: Command = {
  name: "cluster",
  summary: "Show the cluster: brokers, controller, partition leaders, replicas and in-sync replicas.",
  flags: [
    { name: "partitions", kind: "bool", description: "list every partition (leader, replicas, ISR)" },
    { name: "json", kind: "bool", description: "print JSON" },
    ...connectionFlags, helpFlag,
  ],
  run: (flags, io) => withClient(flags, io, async (client) => {
    const cluster = await describeCluster(client);
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
