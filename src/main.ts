#!/usr/bin/env bun
// Runnel's entry point: wiring only. Parse arguments and configuration, start the node, and shut
// it down cleanly on SIGINT / SIGTERM (a second signal exits at once).

import { parseStartArgs, USAGE } from "./cli/args.ts";
import { ConfigError, loadBrokerConfig } from "./config/index.ts";
import { startNode } from "./node.ts";
import { createLogger } from "./util/logger.ts";

const log = createLogger("main");

async function main(argv: string[]): Promise<number> {
  let args;
  let loaded;
  try {
    args = parseStartArgs(argv);
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    loaded = loadBrokerConfig({ file: args.configFile, env: process.env, overrides: args.overrides });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`runnel: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const node = await startNode(loaded);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal} received: shutting down`);
    node.close().then(
      () => {
        console.log("runnel stopped");
        process.exit(0);
      },
      (error) => {
        log.error("shutdown failed", { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  return -1; // keep running
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
