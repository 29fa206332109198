// Runnel (or any Kafka-protocol broker, or the frame-ack TCP sink) as a system under test,
// driven by the bench's own pipelined producer and consumer.

import type { BenchParams } from "../lib/params.ts";
import { batchRecords } from "../lib/params.ts";
import type { Crc32c } from "../kafka/crc32c.ts";
import { BenchProducer } from "../kafka/producer.ts";
import type { ProducerOptions } from "../kafka/producer.ts";
import { createTopic, processMemory, startBroker } from "../kafka/broker.ts";
import type { RunningBroker } from "../kafka/broker.ts";
import { startTcpPeer } from "../floors/tcp.ts";
import type { FloodResult, System, Trial } from "./types.ts";
import { trialName } from "./types.ts";

export interface KafkaSystemOptions {
  name: string;
  params: BenchParams;
  crc32c: Crc32c;
  /** Broker settings (`--set`), e.g. log.flush.interval.messages=1 for durable acks. */
  settings?: Record<string, string>;
  /** Topic configs given at creation. */
  topicConfigs?: Record<string, string>;
  partitions?: number;
  producers?: number;
  /**
   * One topic for every trial (consumers start at its end) instead of a fresh topic per trial:
   * for the many-partitions scenario, so that the broker holds exactly `partitions` partitions.
   */
  reuseTopic?: boolean;
}

function producerOptions(options: KafkaSystemOptions, host: string, port: number, topic: string, mode: "kafka" | "sink"): ProducerOptions {
  const params = options.params;
  return {
    host,
    port,
    topic,
    partitions: options.partitions ?? params.partitions,
    connections: options.producers ?? params.producers,
    valueBytes: params.recordBytes,
    batchRecords: batchRecords(params),
    lingerMs: params.lingerMs,
    acks: params.acks,
    compression: params.compression,
    produceVersion: 7,
    inFlightMax: params.inFlightMax,
    mode,
    crc32c: options.crc32c,
  };
}

export async function startRunnel(options: KafkaSystemOptions): Promise<System & { broker: RunningBroker }> {
  const broker = await startBroker({ settings: options.settings ?? {} });
  const partitions = options.partitions ?? options.params.partitions;
  let shared: string | null = null;
  const newTopic = async (label: string) => {
    if (options.reuseTopic && shared !== null) return shared;
    const topic = trialName("bench", label);
    await createTopic(broker, topic, partitions, options.topicConfigs ?? {});
    if (options.reuseTopic) shared = topic;
    return topic;
  };
  return {
    name: options.name,
    broker,
    async newTrial(label): Promise<Trial> {
      const topic = await newTopic(label);
      const producer = await BenchProducer.open(producerOptions(options, broker.host, broker.port, topic, "kafka"));
      return {
        target: producer,
        followSpec: { kind: "kafka", host: broker.host, port: broker.port, topic, partitions, fromEnd: options.reuseTopic === true },
        attach(recorder) {
          producer.recorder = recorder;
        },
        async close() {
          producer.close();
        },
      };
    },
    async flood(label, durationMs, warmupMs): Promise<FloodResult> {
      const topic = await newTopic(label);
      const producer = await BenchProducer.open(producerOptions(options, broker.host, broker.port, topic, "kafka"));
      try {
        return await producer.flood(durationMs, warmupMs);
      } finally {
        producer.close();
      }
    },
    memory() {
      return broker.pid === null ? null : processMemory(broker.pid, broker.dataDir);
    },
    stop: () => broker.stop(),
  };
}

/** The frame-ack TCP sink: the same producer and frames, answered without parsing or storing. */
export async function startSink(options: KafkaSystemOptions): Promise<System> {
  const { child, port } = await startTcpPeer("frame-ack");
  return {
    name: options.name,
    async newTrial(): Promise<Trial> {
      const producer = await BenchProducer.open(producerOptions(options, "127.0.0.1", port, "sink", "sink"));
      return {
        target: producer,
        attach(recorder) {
          producer.recorder = recorder;
        },
        async close() {
          producer.close();
        },
      };
    },
    async flood(_label, durationMs, warmupMs) {
      const producer = await BenchProducer.open(producerOptions(options, "127.0.0.1", port, "sink", "sink"));
      try {
        return await producer.flood(durationMs, warmupMs);
      } finally {
        producer.close();
      }
    },
    stop: () => child.stop(),
  };
}
