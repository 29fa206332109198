// Configuration keys Kafka 3.x still accepts but ignores, with a deprecation warning, and that Runnel
// accepts the same way instead of refusing them as unknown (INVALID_CONFIG / a start-up error):
// tools and old deployment scripts still set them, and a Kafka 3.x broker takes them.
//   message.format.version (topic), log.message.format.version (broker): since Kafka 3.0 (KIP-724)
//   the message format is v2 whatever they say; the old formats are served by converting per
//   request version (Produce v0-2, Fetch v0-3), not by configuration.
// The warning is logged once per key and process (a topic created with it, every AlterConfigs of it
// and every start would otherwise repeat it).

import { createLogger } from "../util/logger.ts";

const log = createLogger("config");

const reasons: Record<string, string> = {
  "message.format.version": "deprecated since Kafka 3.0 (KIP-724) and ignored: the log always holds message format v2",
  "log.message.format.version": "deprecated since Kafka 3.0 (KIP-724) and ignored: the log always holds message format v2",
};

/** Topic keys accepted and ignored. */
export const ignoredTopicKeys: ReadonlySet<string> = new Set(["message.format.version"]);
/** Broker keys accepted and ignored. */
export const ignoredBrokerKeys: ReadonlySet<string> = new Set(["log.message.format.version"]);

const warned = new Set<string>();

/** Logs the deprecation warning for `key` (once per process). */
export function warnIgnoredKey(key: string, value: string | null): void {
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(`${key} is ${reasons[key] ?? "deprecated and ignored"}`, { key, value });
}
