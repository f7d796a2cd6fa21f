/**
 * The consumer app: the outbox publisher that puts the event store's integration events on
 * the bus, the outbound consumers that turn them into Stripe calls (products, prices,
 * customers), and the inbound consumer that applies Stripe's webhooks. Ops routes on
 * KAFKA_CONSUMER_PORT. Run as many as the topics have partitions: the consumers share the
 * partitions, and the outbox runs in one of them at a time, the holder of a lease kept in
 * the event store (application/lease/); another takes over when it stops, or within the
 * lease's ttl when it dies. With RECONCILE_INTERVAL it also reconciles with Stripe on that
 * schedule, under a lease of its own (docs/reconcile.md). The flows and topics:
 * docs/architecture.md.
 *
 * `deno task kafka_consumer [--dev]`
 * @module
 */
import { opsHandler } from "../../adapters/http/ops.ts";
import { contextLogger } from "../../adapters/observability/log_context.ts";
import {
  type PrometheusRegistry,
  prometheusRegistry,
} from "../../adapters/observability/prometheus.ts";
import type { Bus } from "../../application/ports/bus.ts";
import { systemClock } from "../../application/ports/clock.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import { startInbound } from "../../application/inbound/consumer.ts";
import { runWithLease } from "../../application/lease/runner.ts";
import type { Logger } from "../../application/ports/logger.ts";
import { startOutbound } from "../../application/outbound/consumer.ts";
import { OUTBOX_SUBSCRIBER, startOutbox } from "../../application/outbox/outbox.ts";
import { RECONCILE_LEASE, reconcileEvery } from "../../application/reconcile/schedule.ts";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import { closeAll, keepSubscribed, runApp } from "../runner.ts";
import {
  appLogger,
  busCheck,
  correlatedBus,
  openBus,
  openEventStore,
  openStripe,
  storeCheck,
  stripeTarget,
} from "../wiring.ts";

export type KafkaConsumerOptions = {
  config: Config;
  /** Default: the configured event store (closed with the app). */
  store?: EventStore;
  /** Default: the configured bus (closed with the app). */
  bus?: Bus;
  /** The Stripe API to call: the configured one, or the dev simulator's URL. */
  stripe: { apiKey: string; apiBase?: string | null };
  logger?: Logger;
  /**
   * Default: a registry of its own, served at /metrics. A `bus` given counts its messages
   * in the registry it was opened with.
   */
  metrics?: PrometheusRegistry;
  /** Default: config.consumerPort; 0 picks a free port; null serves no ops routes. */
  port?: number | null;
  /** How often to reconcile with Stripe; default config.reconcileIntervalMs (null: never). */
  reconcileIntervalMs?: number | null;
};

export type KafkaConsumer = { port: number | null; close(): Promise<void> };

export const startKafkaConsumer = async (options: KafkaConsumerOptions): Promise<KafkaConsumer> => {
  const { config } = options;
  // Lines logged while a message is handled carry its correlation id (correlatedBus).
  const logger = contextLogger(options.logger ?? appLogger(config, "kafka_consumer"));
  const metrics = options.metrics ?? prometheusRegistry();
  const opened: [string, () => Promise<unknown> | unknown][] = [];
  const close = () => closeAll(logger, opened);
  try {
    const store = options.store ?? await openEventStore(config, logger);
    if (!options.store) opened.push(["store", () => store.close()]);
    const bus = options.bus ?? await openBus(config, "nudges-kafka-consumer", logger, metrics);
    if (!options.bus) opened.push(["bus", () => bus.close()]);
    const stripe = openStripe(config, { ...options.stripe, metrics, logger });
    opened.push(["stripe", () => stripe.dispose()]);
    const correlated = correlatedBus(bus, logger);

    const stopping = new AbortController();
    const leaseHeld = metrics.gauge(
      "outbox_lease_held",
      "1 while this process holds the outbox lease and publishes, else 0",
    );
    leaseHeld.set(0);
    const outbox = runWithLease({
      store,
      name: OUTBOX_SUBSCRIBER,
      holder: `kafka_consumer-${Deno.pid}-${crypto.randomUUID()}`,
      clock: systemClock,
      signal: stopping.signal,
      logger,
      metrics,
      onHeld: (held) => leaseHeld.set(held ? 1 : 0),
      whileHeld: (held) =>
        keepSubscribed("outbox", (signal) => startOutbox({ store, bus, signal, logger }), {
          signal: held,
          logger,
        }),
    });
    opened.push(["outbox", () => (stopping.abort(), outbox.done)]);
    const intervalMs = options.reconcileIntervalMs === undefined
      ? config.reconcileIntervalMs
      : options.reconcileIntervalMs;
    if (intervalMs !== null) {
      // One process at a time reconciles: a lease of its own, like the outbox's.
      const reconciling = runWithLease({
        store,
        name: RECONCILE_LEASE,
        holder: `kafka_consumer-${Deno.pid}-${crypto.randomUUID()}`,
        clock: systemClock,
        signal: stopping.signal,
        logger,
        whileHeld: (held) =>
          reconcileEvery(
            { store, gateway: stripe.gateway, clock: systemClock, logger },
            { intervalMs, metrics, signal: held },
          ),
      });
      opened.push(["reconcile", () => (stopping.abort(), reconciling.done)]);
    }
    const outbound = await startOutbound({
      bus: correlated,
      deps: { store, gateway: stripe.gateway, clock: systemClock, logger },
      circuit: stripe.circuit,
      concurrency: config.busConcurrency,
    });
    opened.push(["outbound consumers", () => outbound.stop()]);
    const inbound = await startInbound(correlated, {
      store,
      clock: systemClock,
      logger,
      gateway: stripe.gateway,
    }, { concurrency: config.busConcurrency });
    opened.push(["inbound consumer", () => inbound.stop()]);

    const ops = opsHandler({
      checks: [storeCheck(store), busCheck(bus)],
      metrics: () => metrics.render(),
    });
    const port = options.port === undefined ? config.consumerPort : options.port;
    const server = port === null ? null : Deno.serve(
      { port, onListen: ({ port }) => logger.info("ops routes listening", { port }) },
      async (request) => await ops(request) ?? new Response("not found", { status: 404 }),
    );
    if (server) opened.push(["ops routes", () => server.shutdown()]);
    let closing: Promise<void> | undefined;
    return { port: server?.addr.port ?? null, close: () => closing ??= close() };
  } catch (error) {
    await close(); // whatever started before the failure stops: nothing is left running
    throw error;
  }
};

/**
 * Without STRIPE_API_KEY the embedded simulator stands in for Stripe and sends its webhooks
 * to the webhooks app at WEBHOOKS_URL, so the secrets they share must be given.
 */
const load = (env: Record<string, string>, dev: boolean): Config => {
  if (env.STRIPE_API_KEY) return loadConfig(env, { dev });
  try {
    return loadConfig(env, { dev, required: ["STRIPE_WEBHOOKS_SECRET", "WEBHOOKS_API_KEY"] });
  } catch (error) {
    if (!(error instanceof ConfigError) || !error.message.startsWith("missing")) throw error;
    throw new ConfigError(
      `${error.message} (the embedded Stripe simulator signs its webhooks with them; ` +
        `or set STRIPE_API_KEY to call Stripe)`,
    );
  }
};

if (import.meta.main) {
  await runApp(
    "kafka_consumer",
    (env) => load(env, Deno.args.includes("--dev")),
    async (config, logger) => {
      const stripe = stripeTarget(config, { webhooksUrl: config.webhooksUrl, logger });
      try {
        const app = await startKafkaConsumer({ config, stripe, logger });
        // The simulator closes last: a Stripe call in hand completes.
        return { close: () => app.close().then(() => stripe.close()) };
      } catch (error) {
        await stripe.close();
        throw error;
      }
    },
  );
}
