/**
 * The adapters a configuration names, built one way for every app. The EventStoreDB and
 * Kafka clients are loaded only when configured: they are large and slow to load. The
 * process around them (signals, --help, supervision) is in runner.ts. Which port each
 * adapter serves: docs/architecture.md.
 * @module
 */
import { join } from "node:path";
import { sqliteBus } from "../adapters/bus/sqlite.ts";
import { sqliteEventStore } from "../adapters/eventstore/sqlite.ts";
import type { ReadinessCheck } from "../adapters/http/ops.ts";
import { jsonLogger } from "../adapters/observability/json_logger.ts";
import { contextLogger, withLogFields } from "../adapters/observability/log_context.ts";
import { resilientGateway, type ResilientStripe } from "../adapters/stripe/resilience.ts";
import { sharedRateLimiter, stripeRateLimit } from "../adapters/stripe/rate_limiter.ts";
import { SDK_API_VERSION } from "../adapters/stripe/sdk.ts";
import { stripeSdkApi } from "../adapters/stripe/sdk_reader.ts";
import { startStripeSimulator } from "../adapters/stripe/simulator.ts";
import type { Bus, BusBrowser } from "../application/ports/bus.ts";
import { systemClock } from "../application/ports/clock.ts";
import type { EventStore } from "../application/ports/event_store.ts";
import { HEADERS } from "../application/shared/integration_events.ts";
import type { Logger } from "../application/ports/logger.ts";
import type { Metrics } from "../application/ports/metrics.ts";
import type { StripeApi } from "../application/ports/stripe_gateway.ts";
import { type Config, secretsOf } from "./config.ts";

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
): Promise<Bus & BusBrowser> => {
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
): ResilientStripe<StripeApi> => {
  metrics.gauge(
    "stripe_api_version_info",
    "The Stripe API version Nudges calls (STRIPE_API_VERSION, else the SDK's), as a label.",
  ).set(1, { version: stripeApiVersion(config) });
  return resilientGateway(
    stripeSdkApi({
      apiKey,
      apiBase: apiBase ?? config.stripeApiBase,
      apiVersion: config.stripeApiVersion,
    }),
    {
      metrics,
      // Stripe's own rate limit (100/s live, 25/s in test mode), kept on our side so that
      // bursts wait instead of drawing 429s: one bucket for the whole process, whatever
      // calls Stripe in it. The simulator has no limit to respect.
      limiter: config.stripeApiKey === null
        ? null
        : sharedRateLimiter(apiKey, stripeRateLimit(apiKey)),
      onRetry: ({ attempt, delayMs, error }) =>
        logger.warn("Stripe call failed, retrying", { attempt, delayMs, error }),
    },
  );
};

/** The Stripe API version Nudges calls: STRIPE_API_VERSION, else the pinned SDK's. */
export const stripeApiVersion = (config: Config): string =>
  config.stripeApiVersion ?? SDK_API_VERSION;

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
