// Protocol-level connections for tests: the shared client's KafkaConnection (src/client/) to a
// "host:port", optionally without ApiVersions negotiation (tests that send ApiVersions
// themselves, or that aim at exact versions).

import { KafkaConnection, type ConnectionOptions } from "../../src/client/connection.ts";
import { parseBootstrap } from "../../src/client/client.ts";

export async function connectTo(address: string, clientId = "runnel-test", options: Partial<ConnectionOptions> = {}): Promise<KafkaConnection> {
  const [first] = parseBootstrap(address);
  return KafkaConnection.connect({ host: first!.host, port: first!.port, clientId, ...options });
}
