// The consumer app (the seed's KafkaConsumer): the outbox publisher that puts the event
// store's integration events on the bus, the outbound consumers that call Stripe (the
// seed's StripeService), and the inbound consumer that applies Stripe's webhooks. Ops
// routes on KAFKA_CONSUMER_PORT. Stateless: run as many as the topics have partitions.
//   deno task kafka_consumer [--dev]
import { opsHandler } from "../../adapters/http/ops.ts";
import { jsonLogger } from "../../adapters/observability/json_logger.ts";
import { prometheusRegistry } from "../../adapters/observability/prometheus.ts";
import type { Bus } from "../../application/bus.ts";
import { systemClock } from "../../application/clock.ts";
import type { EventStore } from "../../application/event_store.ts";
import { startInbound } from "../../application/inbound.ts";
import type { Logger } from "../../application/logger.ts";
import { startOutbound } from "../../application/outbound_consumer.ts";
import { startOutbox } from "../../application/outbox.ts";
import { type Config, ConfigError, loadConfig } from "../config.ts";
import {
  closeAll,
  keepSubscribed,
  openBus,
  openEventStore,
  openStripe,
  storeCheck,
  stripeTarget,
} from "../infrastructure.ts";

export type KafkaConsumerOptions = {
  config: Config;
  /** Default: the configured event store (closed with the app). */
  store?: EventStore;
  /** Default: the configured bus (closed with the app). */
  bus?: Bus;
  /** The Stripe API to call: the configured one, or the dev simulator's URL. */
  stripe: { apiKey: string; apiBase?: string | null };
  logger?: Logger;
  /** Default: config.consumerPort; 0 picks a free port; null serves no ops routes. */
  port?: number | null;
};

export type KafkaConsumer = { port: number | null; close(): Promise<void> };

export const startKafkaConsumer = async (options: KafkaConsumerOptions): Promise<KafkaConsumer> => {
  const { config } = options;
  const logger = options.logger ?? jsonLogger({
    secrets: [options.stripe.apiKey, config.stripeWebhooksSecret],
  }).with({ app: "kafka_consumer" });
  const metrics = prometheusRegistry();
  const store = options.store ?? await openEventStore(config, logger);
  const bus = options.bus ?? await openBus(config, "nudges-kafka-consumer", logger);
  const stripe = openStripe(config, { ...options.stripe, metrics, logger });

  const stopping = new AbortController();
  const outbox = keepSubscribed(
    "outbox",
    (signal) => startOutbox({ store, bus, signal, logger }),
    { signal: stopping.signal, logger },
  );
  const outbound = await startOutbound({
    bus,
    deps: { store, gateway: stripe.gateway, clock: systemClock, logger },
    circuit: stripe.circuit,
  });
  const inbound = await startInbound(bus, { store, clock: systemClock, logger });

  const ops = opsHandler({
    checks: [storeCheck(store)],
    metrics: () => metrics.render(),
  });
  const port = options.port === undefined ? config.consumerPort : options.port;
  const server = port === null ? null : Deno.serve(
    { port, onListen: ({ port }) => logger.info("ops routes listening", { port }) },
    async (request) => await ops(request) ?? new Response("not found", { status: 404 }),
  );

  let closing: Promise<void> | undefined;
  return {
    port: server?.addr.port ?? null,
    close: () =>
      closing ??= closeAll(logger, [
        ["store", options.store ? undefined : () => store.close()],
        ["bus", options.bus ? undefined : () => bus.close()],
        ["stripe", () => stripe.dispose()],
        ["outbox", () => (stopping.abort(), outbox)],
        ["outbound consumers", () => outbound.stop()],
        ["inbound consumer", () => inbound.stop()],
        ["ops routes", () => server?.shutdown()],
      ]),
  };
};

if (import.meta.main) {
  try {
    const dev = Deno.args.includes("--dev");
    // Without STRIPE_API_KEY the embedded simulator stands in for Stripe, and its webhooks
    // go to the webhooks app at WEBHOOKS_URL, so the secrets they share must be given.
    const config = loadConfig(Deno.env.toObject(), {
      dev,
      required: Deno.env.get("STRIPE_API_KEY")
        ? []
        : ["STRIPE_WEBHOOKS_SECRET", "WEBHOOKS_API_KEY"],
    });
    const logger = jsonLogger({
      secrets: [config.stripeApiKey ?? "", config.stripeWebhooksSecret, config.webhooksApiKey],
    }).with({ app: "kafka_consumer" });
    const webhooksUrl = Deno.env.get("WEBHOOKS_URL") ?? `http://127.0.0.1:${config.webhooksPort}`;
    const stripe = stripeTarget(config, { webhooksUrl, logger });
    const app = await startKafkaConsumer({ config, stripe, logger });
    const stop = () => app.close().then(() => stripe.close()).then(() => Deno.exit(0));
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`kafka_consumer: ${error.message}`);
    Deno.exit(1);
  }
}
