#!/usr/bin/env bun
// Runnel's entry point: wiring only. `runnel <command>` is dispatched by src/cli/; the broker
// itself (`runnel start`, or no command) is started here: parse arguments and configuration,
// start the node, and shut it down cleanly on SIGINT / SIGTERM (a second signal exits at once).

import { parseStartArgs, USAGE } from "./cli/args.ts";
import { runCli } from "./cli/index.ts";
import { ConfigError, loadBrokerConfig } from "./config/index.ts";
import { startNode, type RunningNode } from "./node.ts";
import { createLogger } from "./util/logger.ts";
import { describeError, StartupError } from "./util/startup-error.ts";

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
    console.error(`runnel: ${error instanceof ConfigError ? error.message : `cannot read the configuration: ${describeError(error)}`}`);
    return 2;
  }

  // Handlers go in before the node starts: it prints where it listens as soon as it does, and a
  // SIGTERM sent on that line must shut it down cleanly rather than kill it (exit 143). A signal
  // that arrives while the node is still starting shuts it down once it has started.
  let node: RunningNode | null = null;
  let stopping: string | null = null;
  const shutdown = (running: RunningNode) => {
    running.close().then(
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
  const stop = (signal: string) => {
    if (stopping !== null) {
      log.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    stopping = signal;
    log.info(`${signal} received: shutting down`);
    if (node !== null) shutdown(node);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // SIGHUP: read the TLS listeners' certificate and key files again (certificate rotation without
  // a restart); unusable new files are logged and the old ones kept.
  process.on("SIGHUP", () => {
    try {
      node?.reloadTls();
    } catch (error) {
      log.error("TLS reload failed; keeping the current certificates", { error: describeError(error) });
    }
  });
  try {
    node = await startNode(loaded);
  } catch (error) {
    // One line saying what failed and where (util/startup-error.ts), never a stack trace.
    console.error(`runnel: ${error instanceof StartupError ? error.message : `cannot start: ${describeError(error)}`}`);
    log.debug("start-up failure", { stack: error instanceof Error ? String(error.stack) : String(error) });
    return 1;
  }
  if (stopping !== null) shutdown(node);
  return -1; // keep running
}

const code = await runCli(process.argv.slice(2), { start: main });
if (code >= 0) process.exit(code);
