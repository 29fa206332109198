// Scenario "security" (issue 15): what TLS and SASL cost. One Runnel broker with three listeners —
// PLAINTEXT, SSL, SASL_SSL (SCRAM-SHA-512) — and the same librdkafka producer
// (bench/clients/confluent-produce.py) against each, interleaved run by run: closed-loop
// throughput, then open-loop produce latency at one offered rate for all three (a fraction of the
// slowest listener's flood, so none is saturated). Ratios are to PLAINTEXT in the same run.
// Certificates are made with openssl for the run (src/testing/certificates.ts). The authorizer is
// on (a SASL listener exists) with allow.everyone.if.no.acl.found=true, so every listener pays
// the same ACL check and differs only in TLS and SASL.

import { join } from "node:path";
import { createServer } from "node:net";
import { LatencyHistogram } from "../lib/histogram.ts";
import { formatMs, formatNumber, formatSpread, table } from "../lib/markdown.ts";
import { Report } from "../lib/report.ts";
import { spread } from "../lib/stats.ts";
import { createTopic, startBroker } from "../kafka/broker.ts";
import { trackChild } from "../lib/process.ts";
import { trialName } from "../systems/types.ts";
import { makeTestCertificates } from "../../src/testing/certificates.ts";
import type { Scenario } from "./common.ts";
import { megabytes } from "./common.ts";
import { pythonPath } from "./real-client.ts";

const script = join(import.meta.dir, "../clients/confluent-produce.py");

interface ClientResult {
  acked: number;
  failed: number;
  firstError: string | null;
  achievedRate: number;
  latenciesUs: number[];
}

async function runClient(args: string[]): Promise<ClientResult> {
  const child = Bun.spawn([pythonPath, script, ...args], { stdout: "pipe", stderr: "pipe" });
  trackChild(child);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`confluent-produce.py exited ${code}: ${stderr.slice(-800)}`);
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as ClientResult;
  if (result.failed > 0) throw new Error(`librdkafka reported ${result.failed} failed deliveries: ${result.firstError}`);
  return result;
}

/** A free loopback port (bound then released) for a listener the broker must not pick itself. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const securityScenario: Scenario = {
  name: "security",
  title: "TLS and SASL: librdkafka produce over PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-512)",
  description: "librdkafka producer over PLAINTEXT, SSL and SASL_SSL listeners of one broker: throughput and p99, ratios to PLAINTEXT",
  async run(context) {
    const params = context.params;
    const report = new Report("security", this.title, params);
    const certs = makeTestCertificates();
    const [sslPort, saslSslPort] = [await freePort(), await freePort()];
    const broker = await startBroker({
      settings: {
        listeners: `PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:${sslPort},SASL_SSL://127.0.0.1:${saslSslPort},HTTP://127.0.0.1:0`,
        "ssl.keystore.location": certs.path("keystore.pem"),
        "bootstrap.scram.users": "SCRAM-SHA-512=[name=bench,password=bench-secret]",
        "allow.everyone.if.no.acl.found": "true",
      },
    });
    const tls = [`ssl.ca.location=${certs.path("ca.pem")}`];
    const listeners: { label: string; address: string; settings: string[] }[] = [
      { label: "PLAINTEXT", address: `${broker.host}:${broker.port}`, settings: [] },
      { label: "SSL", address: `127.0.0.1:${sslPort}`, settings: ["security.protocol=SSL", ...tls] },
      { label: "SASL_SSL (SCRAM-SHA-512)", address: `127.0.0.1:${saslSslPort}`, settings: ["security.protocol=SASL_SSL", "sasl.mechanisms=SCRAM-SHA-512", "sasl.username=bench", "sasl.password=bench-secret", ...tls] },
    ];
    const mbps = (value: number) => formatNumber(megabytes(value, params), 1);
    try {
      const args = (listener: (typeof listeners)[number], topic: string, rate: number) => [
        "--bootstrap", listener.address, "--topic", topic, "--record-bytes", String(params.recordBytes), "--rate", String(rate),
        "--duration-s", String(params.durationMs / 1000), "--warmup-s", String(params.warmupMs / 1000), "--acks", params.acks === -1 ? "all" : String(params.acks),
        "--linger-ms", String(params.lingerMs), "--batch-bytes", String(params.batchBytes), "--compression", params.compression,
        ...listener.settings.flatMap((setting) => ["--set", setting]),
      ];
      const floods = listeners.map(() => [] as number[]);
      for (let run = 0; run < params.runs; run++) {
        for (const [index, listener] of listeners.entries()) {
          const topic = trialName("bench-security", `flood-${index}-${run}`);
          await createTopic(broker, topic, params.partitions);
          const result = await runClient(args(listener, topic, 0));
          floods[index]!.push(result.achievedRate);
          context.log(`  ${listener.label} flood run ${run + 1}: ${Math.round(result.achievedRate)} records/s`);
        }
      }
      const floodSpreads = floods.map((values) => spread(values));
      const ratioOf = (index: number) => floods[index]!.map((value, run) => value / floods[0]![run]!);
      report.section("Throughput (closed loop, librdkafka, same broker, runs interleaved)", table(
        ["listener", "records/s", "payload MB/s", "× PLAINTEXT (per run)"],
        listeners.map((listener, index) => [
          listener.label, formatSpread(floodSpreads[index]!, (value) => formatNumber(value)), formatSpread(floodSpreads[index]!, mbps),
          formatSpread(spread(ratioOf(index)), (value) => value.toFixed(2)),
        ]),
      ) + "\nThe flood is bounded by the Python loop calling produce() per record (as in `real-client`): the ratios show what TLS and SASL add on top of it, not the broker's ceiling.\n");
      const rate = params.rate > 0 ? params.rate : Math.round(Math.min(...floodSpreads.map((entry) => entry.median)) * params.latencyRateFraction);
      const summaries = listeners.map(() => [] as ReturnType<LatencyHistogram["summary"]>[]);
      for (let run = 0; run < params.runs; run++) {
        for (const [index, listener] of listeners.entries()) {
          const topic = trialName("bench-security", `latency-${index}-${run}`);
          await createTopic(broker, topic, params.partitions);
          const result = await runClient(args(listener, topic, rate));
          const histogram = new LatencyHistogram();
          for (const value of result.latenciesUs) histogram.recordUs(value);
          summaries[index]!.push(histogram.summary());
          context.log(`  ${listener.label} @ ${rate}/s run ${run + 1}: p50 ${formatMs(histogram.percentileUs(50))} ms, p99 ${formatMs(histogram.percentileUs(99))} ms`);
        }
      }
      const cell = (values: number[]) => formatSpread(spread(values), formatMs);
      report.section(`Produce latency at ${formatNumber(rate)} records/s (open loop, from intended send time)`, table(
        ["listener", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "p99 × PLAINTEXT (per run)"],
        listeners.map((listener, index) => {
          const entries = summaries[index]!;
          const ratios = entries.map((entry, run) => entry.p99Us / Math.max(1, summaries[0]![run]!.p99Us));
          return [
            listener.label, cell(entries.map((entry) => entry.p50Us)), cell(entries.map((entry) => entry.p90Us)), cell(entries.map((entry) => entry.p99Us)),
            cell(entries.map((entry) => entry.p999Us)), cell(entries.map((entry) => entry.maxUs)), formatSpread(spread(ratios), (value) => value.toFixed(2)),
          ];
        }),
      ));
      report.figure("floods", floodSpreads);
      report.figure("latency", summaries);
      const p99 = (index: number) => formatMs(spread(summaries[index]!.map((entry) => entry.p99Us)).median);
      context.headlines.push(`security (librdkafka): SSL ${spread(ratioOf(1)).median.toFixed(2)}× and SASL_SSL ${spread(ratioOf(2)).median.toFixed(2)}× PLAINTEXT throughput; p99 ${p99(0)} / ${p99(1)} / ${p99(2)} ms at ${formatNumber(rate)} rec/s`);
    } finally {
      await broker.stop();
      certs.cleanup();
    }
    return report;
  },
};
