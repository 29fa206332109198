// How the nodes of a cluster talk to each other securely. Every node-to-node request — Raft,
// broker registration and heartbeats, admin requests forwarded to the controller, replica fetches —
// goes over the internal listener (controller.listener.names, CONTROLLER), so it is Kafka's
// controller listener and inter-broker listener at once. Its protocol comes from
// listener.security.protocol.map (CONTROLLER:SASL_SSL), else security.inter.broker.protocol, else
// PLAINTEXT. On a SASL one, this node logs in to the others with sasl.mechanism.controller.protocol
// (else sasl.mechanism.inter.broker.protocol) as the username and password of sasl.jaas.config; on a
// TLS one it trusts ssl.truststore.* and presents its ssl.keystore.* certificate when asked.
// The other nodes' principal needs CLUSTER_ACTION on the cluster (kafka/controller-handlers.ts).

import type { ClientSasl, ClientSecurity } from "../client/security.ts";
import { ConfigError, parseProtocolMap, usesSasl, usesTls, type BrokerConfig, type SecurityProtocol } from "../config/index.ts";
import { peerTlsFromConfig } from "./tls.ts";

export const internalListenerName = "CONTROLLER";

export interface InterBrokerSecurity {
  /** The internal listener's security protocol. */
  readonly protocol: SecurityProtocol;
  /** How this node connects to the other nodes' internal listeners. */
  readonly client: ClientSecurity;
}

/** The internal listener's protocol; ConfigError when the keys disagree or name another listener. */
export function internalListenerProtocol(config: BrokerConfig): SecurityProtocol {
  const interBrokerListener = config["inter.broker.listener.name"];
  if (interBrokerListener !== null && interBrokerListener.toUpperCase() !== internalListenerName) {
    throw new ConfigError("inter.broker.listener.name", `Runnel's brokers replicate over the internal listener: set it to ${internalListenerName} or leave it unset (secure that listener with listener.security.protocol.map=${internalListenerName}:SASL_SSL,…)`);
  }
  const mapped = parseProtocolMap("listener.security.protocol.map", config["listener.security.protocol.map"]).get(internalListenerName);
  const named = config["security.inter.broker.protocol"] as SecurityProtocol | null;
  if (mapped !== undefined && named !== null && mapped !== named) {
    throw new ConfigError("security.inter.broker.protocol", `${named} disagrees with listener.security.protocol.map (${internalListenerName}:${mapped}); the internal listener has one protocol`);
  }
  return mapped ?? named ?? "PLAINTEXT";
}

/** The username and password of a JAAS line (ScramLoginModule or PlainLoginModule). */
function loginOf(jaas: string | null): { username: string; password: string } {
  const username = jaas === null ? undefined : /\busername\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  const password = jaas === null ? undefined : /\bpassword\s*=\s*"([^"]*)"/.exec(jaas)?.[1];
  if (username === undefined || password === undefined) {
    throw new ConfigError("sasl.jaas.config", `a SASL internal listener needs this node's login: org.apache.kafka.common.security.scram.ScramLoginModule required username="…" password="…";`);
  }
  return { username, password };
}

export function interBrokerSecurity(config: BrokerConfig): InterBrokerSecurity {
  const protocol = internalListenerProtocol(config);
  const client: ClientSecurity = {};
  if (usesTls(protocol)) client.tls = peerTlsFromConfig(config);
  if (usesSasl(protocol)) {
    const mechanism = (config["sasl.mechanism.controller.protocol"] ?? config["sasl.mechanism.inter.broker.protocol"]) as ClientSasl["mechanism"];
    if (!config["sasl.enabled.mechanisms"].includes(mechanism)) {
      throw new ConfigError("sasl.mechanism.inter.broker.protocol", `${mechanism} is not in sasl.enabled.mechanisms (${config["sasl.enabled.mechanisms"].join(", ")}): the other nodes would refuse it`);
    }
    client.sasl = { mechanism, ...loginOf(config["sasl.jaas.config"]) };
  }
  return { protocol, client };
}
