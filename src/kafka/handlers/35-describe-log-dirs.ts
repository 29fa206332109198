// DescribeLogDirs (key 35), v0-v4: this broker's one log directory with the size of each local
// replica (bytes of its segments) and its offset lag (a follower's distance to the high
// watermark it knows; 0 on a leader). topics null: every local replica. v4's totalBytes and
// usableBytes come from statfs of the directory. Needs DESCRIBE on the cluster
// (CLUSTER_AUTHORIZATION_FAILED). Not done: future replicas (JBOD moves).

import { statfsSync } from "node:fs";
import { DescribeLogDirsApi } from "../../protocol/generated/describe-log-dirs.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { AclOperation } from "../../security/acl.ts";
import { defineHandler } from "../handler.ts";
import { authorizeCluster } from "../security.ts";

function diskBytes(directory: string): { totalBytes: bigint; usableBytes: bigint } {
  try {
    const stats = statfsSync(directory);
    return { totalBytes: BigInt(stats.blocks) * BigInt(stats.bsize), usableBytes: BigInt(stats.bavail) * BigInt(stats.bsize) };
  } catch {
    return { totalBytes: -1n, usableBytes: -1n };
  }
}

export default defineHandler({
  api: DescribeLogDirsApi,
  minVersion: 0,
  maxVersion: 4,
  async handle(request, ctx) {
    // Kafka's rule: DESCRIBE on the cluster; refused, v3+ say so at the top, older versions get nothing.
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const image = ctx.broker.metadata.image;
    const directory = ctx.broker.config.values["log.dirs"][0] ?? ".";
    const wanted = request.topics === null
      ? [...image.topicsByName.values()].map((topic) => ({ topic: topic.name, partitions: topic.partitions.map((partition) => partition.partition) }))
      : request.topics;
    const topics = wanted.map(({ topic, partitions }) => ({
      name: topic,
      partitions: partitions.flatMap((index) => {
        const replica = ctx.broker.replicas.partition(topic, index);
        if (!replica) return [];
        const lag = replica.highWatermark > replica.logEndOffset ? replica.highWatermark - replica.logEndOffset : 0n;
        return [{ partitionIndex: index, partitionSize: BigInt(replica.log.sizeBytes), offsetLag: lag, isFutureKey: false }];
      }),
    })).filter((topic) => topic.partitions.length > 0);
    return { throttleTimeMs: 0, errorCode: 0, results: [{ errorCode: 0, logDir: directory, topics, ...diskBytes(directory) }] };
  },
});
