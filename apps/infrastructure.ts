// The adapters a configuration names, built one way for every app. The EventStoreDB and
// Kafka clients are loaded only when configured: they are large and slow to load.
import { join } from "node:path";
import { sqliteBus } from "../adapters/bus/sqlite.ts";
import { sqliteEventStore } from "../adapters/eventstore/sqlite.ts";
import type { ReadinessCheck } from "../adapters/http/ops.ts";
import { jsonLogger } from "../adapters/observability/json_logger.ts";
import { contextLogger, withLogFields } from "../adapters/observability/log_context.ts";
import {
  resilientGateway,
  type ResilientStripe,
  stripeRateLimit,
} from "../adapters/stripe/resilience.ts";
import { stripeSdkGateway } from "../adapters/stripe/sdk.ts";
import { startStripeSimulator } from "../adapters/stripe/simulator.ts";
import type { Bus } from "../application/ports/bus.ts";
import { systemClock } from "../application/ports/clock.ts";
import type { EventStore } from "../application/ports/event_store.ts";
import { HEADERS } from "../application/shared/integration_events.ts";
import type { Logger } from "../application/ports/logger.ts";
import type { Metrics } from "../application/ports/metrics.ts";
import { sleep } from "../application/shared/sleep.ts";
import { type Config, ConfigError, secretsOf } from "./config.ts";

/** Files under DATA_DIR. */
export const DATA_FILES = {
  events: "events.sqlite",
  bus: "bus.sqlite",
  stripeSimulator: "stripe_simulator.sqlite",
} as const;

/** EventStoreDB when EVENTSTORE_CONNECTION_STRING is set, else the SQLite file under DATA_DIR. */
export const openEventStore = async (config: Config, logger: Logger): Promise<EventStore> => {
  if (config.eventStoreConnectionString === null) {
    return sqliteEventStore(join(config.dataDir, DATA_FILES.events), { clock: systemClock });
  }
  const { esdbEventStore } = await import("../adapters/eventstore/esdb.ts");
  return esdbEventStore(config.eventStoreConnectionString, { logger });
};

/**
 * Kafka when KAFKA_BROKERS is set, else the in-process bus kept in a SQLite file under
 * DATA_DIR. `metrics` counts the messages its consumers handle and dead-letter.
 */
export const openBus = async (
  config: Config,
  clientId: string,
  logger: Logger,
  metrics?: Metrics,
): Promise<Bus> => {
  if (config.kafkaBrokers === null) {
    return sqliteBus({ path: join(config.dataDir, DATA_FILES.bus), logger, metrics });
  }
  const { kafkaBus } = await import("../adapters/bus/kafka.ts");
  return kafkaBus({ brokers: config.kafkaBrokers, clientId, logger, metrics });
};

/**
 * `bus`, with each message handled inside a log context of its correlation and event
 * ids: every line logged meanwhile through a contextLogger carries them. A failed
 * attempt is logged too (the bus retries it, or dead-letters it and says so).
 */
export const correlatedBus = (bus: Bus, logger: Logger): Bus => ({
  publish: (messages) => bus.publish(messages),
  consume: (options) =>
    bus.consume({
      ...options,
      handler: (message) =>
        withLogFields({
          correlationId: message.headers[HEADERS.correlationId],
          eventId: message.headers[HEADERS.eventId],
          topic: message.topic,
          partition: message.partition,
          offset: message.offset,
        }, async () => {
          try {
            await options.handler(message);
            logger.debug("message handled", { groupId: options.groupId });
          } catch (error) {
            logger.warn("message handler failed", { groupId: options.groupId, error });
            throw error;
          }
        }),
    }),
  close: () => bus.close(),
  ping: () => bus.ping?.() ?? Promise.resolve(),
});

export type StripeTarget = {
  apiKey: string;
  /** null: Stripe itself. */
  apiBase: string | null;
  /** Set when the target is the embedded simulator. */
  simulator?: ReturnType<typeof startStripeSimulator>;
  close(): Promise<void>;
};

/**
 * The Stripe API to call: STRIPE_API_KEY (at STRIPE_API_BASE) when set, else the embedded
 * simulator, kept under DATA_DIR and sending its signed webhooks to `webhooksUrl`.
 */
export const stripeTarget = (
  config: Config,
  { webhooksUrl, logger }: { webhooksUrl: string; logger: Logger },
): StripeTarget => {
  if (config.stripeApiKey !== null) {
    return { apiKey: config.stripeApiKey, apiBase: config.stripeApiBase, close: async () => {} };
  }
  const simulator = startStripeSimulator({
    path: join(config.dataDir, DATA_FILES.stripeSimulator),
    webhook: {
      url: `${webhooksUrl}/api/StripeWebhookHandler?code=${
        encodeURIComponent(config.webhooksApiKey)
      }`,
      secret: config.stripeWebhooksSecret,
    },
    logger: logger.with({ component: "stripe_simulator" }),
  });
  return {
    apiKey: "sk_test_nudges_simulator",
    apiBase: simulator.url,
    simulator,
    close: () => simulator.close(),
  };
};

/**
 * Stripe through its SDK (at STRIPE_API_BASE when set) behind retries and a circuit
 * breaker. `apiBase` overrides the configured base: the dev simulator's URL.
 */
export const openStripe = (
  config: Config,
  { apiKey, apiBase, metrics, logger }: {
    apiKey: string;
    apiBase?: string | null;
    metrics: Metrics;
    logger: Logger;
  },
): ResilientStripe =>
  resilientGateway(
    stripeSdkGateway({ apiKey, apiBase: apiBase ?? config.stripeApiBase }),
    {
      metrics,
      // Stripe's own rate limit (100/s live, 25/s in test mode), kept on our side so that
      // bursts wait instead of drawing 429s. The simulator has no limit to respect.
      requestsPerSecond: config.stripeApiKey === null ? null : stripeRateLimit(apiKey),
      onRetry: ({ attempt, delayMs, error }) =>
        logger.warn("Stripe call failed, retrying", { attempt, delayMs, error }),
    },
  );

export const storeCheck = (store: EventStore): ReadinessCheck => ({
  name: "eventStore",
  check: () => store.readAll({ limit: 1 }),
});

export const busCheck = (bus: Bus): ReadinessCheck => ({
  name: "bus",
  check: () => bus.ping?.() ?? Promise.resolve(),
});

/** JSON lines on stderr at LOG_LEVEL, masking every configured secret, with message context. */
export const appLogger = (config: Config, app: string): Logger =>
  contextLogger(jsonLogger({ level: config.logLevel, secrets: secretsOf(config) }).with({ app }));

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
