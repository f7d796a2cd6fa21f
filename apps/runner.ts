/**
 * The process around an app: its `main` (--help, configuration, SIGTERM and SIGINT, the
 * stop deadline, crashes through the masking logger), closing what it opened, and keeping
 * its subscriptions running. The adapters it runs over are built in wiring.ts.
 * @module
 */
import type { Logger } from "../application/ports/logger.ts";
import { sleep } from "../application/shared/sleep.ts";
import { type Config, ConfigError } from "./config.ts";
import { appLogger } from "./wiring.ts";

export type RunningApp = {
  close(): Promise<void>;
  /**
   * Rejects when the app can no longer do its work (its projection failed for good, say):
   * the process then exits 1, for its supervisor to restart it from its checkpoints.
   */
  failed?: Promise<unknown>;
};

/** Long enough for a message or a Stripe call in hand to finish; then the process ends anyway. */
export const STOP_DEADLINE_MS = 10_000;

/**
 * The `main` of an app: loads its configuration, starts it, and stops it on SIGTERM or
 * SIGINT, exiting 0 once it closed (1 past STOP_DEADLINE_MS). A configuration error is
 * one line naming the variable; any other failure, at start or later, goes through the
 * masking logger (never Deno's own report, which would print a secret in an error as is).
 */
export const runApp = async (
  app: string,
  load: (env: Record<string, string>) => Config,
  start: (config: Config, logger: Logger) => Promise<RunningApp>,
): Promise<void> => {
  if (Deno.args.some((arg) => arg === "--help" || arg === "-h")) {
    console.log(
      `Usage: deno task ${app}${app === "dev" ? "" : " [--dev]"}\n\n` +
        "Configured by environment variables (README.md, Configuration). Outside --dev a\n" +
        "missing secret stops the app at start; --dev makes up the ones it needs.",
    );
    Deno.exit(0);
  }
  let config: Config;
  try {
    config = load(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${app}: ${error.message}`);
    Deno.exit(1);
  }
  // Outside dev mode a secret the app does not need is made up too, and never shown.
  for (const [name, value] of Object.entries(config.dev ? config.madeUp : {})) {
    console.error(`dev mode: ${name}=${value}`);
  }
  const logger = appLogger(config, app);
  const crash = (what: string) => (event: ErrorEvent | PromiseRejectionEvent) => {
    event.preventDefault();
    logger.error(what, { error: "reason" in event ? event.reason : event.error });
    Deno.exit(1);
  };
  globalThis.addEventListener("error", crash("uncaught exception"));
  globalThis.addEventListener("unhandledrejection", crash("unhandled rejection"));

  const started = start(config, logger);
  // Under `deno task`, one Ctrl-C reaches the app twice (the task forwards it): a second
  // signal is the same request, not a harder one. A signal during the start stops the
  // app once it has started.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    logger.info("stopping");
    setTimeout(() => {
      logger.error(`not stopped after ${STOP_DEADLINE_MS / 1000} s, exiting anyway`);
      Deno.exit(1);
    }, STOP_DEADLINE_MS);
    started.then((running) => running.close()).then(() => {
      logger.info("stopped");
      Deno.exit(0);
    }, (error) => {
      logger.error("stopping failed", { error });
      Deno.exit(1);
    });
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  let running: RunningApp;
  try {
    running = await started;
  } catch (error) {
    logger.error("could not start", { error });
    Deno.exit(1);
  }
  running.failed?.catch((error) => {
    if (stopping) return;
    logger.error("cannot go on, exiting to be restarted", { error });
    Deno.exit(1);
  });
};

/** Closes what was opened, last first, and goes on past a failure to close the rest. */
export const closeAll = async (
  logger: Logger,
  closers: readonly [string, (() => Promise<unknown> | unknown) | undefined][],
): Promise<void> => {
  for (const [name, close] of [...closers].reverse()) {
    try {
      await close?.();
    } catch (error) {
      logger.error(`stopping ${name} failed`, { error });
    }
  }
};

/**
 * Keeps a subscription running: when it fails (the bus is down, the store went away) it
 * is started again after a backoff, from its stored checkpoint, until `signal` aborts.
 */
export const keepSubscribed = (
  name: string,
  start: (signal: AbortSignal) => { done: Promise<void> },
  { signal, logger, maxBackoffMs = 30_000 }: {
    signal: AbortSignal;
    logger: Logger;
    maxBackoffMs?: number;
  },
): Promise<void> => {
  const run = async () => {
    for (let backoff = 500; !signal.aborted; backoff = Math.min(backoff * 2, maxBackoffMs)) {
      try {
        await start(signal).done;
        return;
      } catch (error) {
        if (signal.aborted) return;
        logger.error(`${name} failed, restarting from its checkpoint`, {
          error,
          backoffMs: backoff,
        });
        await sleep(backoff, signal);
      }
    }
  };
  return run();
};
