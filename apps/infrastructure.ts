// The adapters a configuration names, built one way for every app. The EventStoreDB and
// Kafka clients are loaded only when configured: they are large and slow to load.
import { join } from "node:path";
import { sqliteBus } from "../adapters/bus/sqlite.ts";
import { sqliteEventStore } from "../adapters/eventstore/sqlite.ts";
import type { ReadinessCheck } from "../adapters/http/ops.ts";
import { resilientGateway, type ResilientStripe } from "../adapters/stripe/resilience.ts";
import { stripeSdkGateway } from "../adapters/stripe/sdk.ts";
import { startStripeSimulator } from "../adapters/stripe/simulator.ts";
import type { Bus } from "../application/bus.ts";
import { systemClock } from "../application/clock.ts";
import type { EventStore } from "../application/event_store.ts";
import type { Logger } from "../application/logger.ts";
import type { Metrics } from "../application/metrics.ts";
import type { Config } from "./config.ts";

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

/** Kafka when KAFKA_BROKERS is set, else the in-process bus kept in a SQLite file under DATA_DIR. */
export const openBus = async (config: Config, clientId: string, logger: Logger): Promise<Bus> => {
  if (config.kafkaBrokers === null) {
    return sqliteBus({ path: join(config.dataDir, DATA_FILES.bus), logger });
  }
  const { kafkaBus } = await import("../adapters/bus/kafka.ts");
  return kafkaBus({ brokers: config.kafkaBrokers, clientId, logger });
};

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
      onRetry: ({ attempt, delayMs, error }) =>
        logger.warn("Stripe call failed, retrying", { attempt, delayMs, error }),
    },
  );

export const storeCheck = (store: EventStore): ReadinessCheck => ({
  name: "eventStore",
  check: () => store.readAll({ limit: 1 }),
});

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
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, backoff);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
      }
    }
  };
  return run();
};
