// The registry of Kafka API handlers: one import and one entry per handler file
// (src/kafka/handlers/NN-name.ts, see src/kafka/handler.ts). The ApiVersions table is built from
// this list. Keep it sorted by API key.

import type { AnyHandler } from "../handler.ts";
import apiVersions from "./18-api-versions.ts";

export const handlers: readonly AnyHandler[] = [
  apiVersions,
];
