/**
 * The Webhooks service: Stripe's webhook endpoint on WEBHOOKS_PORT. It records each
 * verified event in the event store and answers; the consumer app applies it from there.
 * Ops routes (/healthz, /readyz, /metrics) beside it.
 *
 * `deno task webhooks [--dev]`; `deno task webhooks register <public base URL>` sets up the
 * endpoint in Stripe (register.ts).
 * @module
 */
import { webhookHandler } from "../../adapters/http/webhooks.ts";
import { opsHandler } from "../../adapters/http/ops.ts";
import {
  type PrometheusRegistry,
  prometheusRegistry,
} from "../../adapters/observability/prometheus.ts";
import { systemClock } from "../../application/ports/clock.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import type { Logger } from "../../application/ports/logger.ts";
import { type Config, loadConfig } from "../config.ts";
import { closeAll, runApp } from "../runner.ts";
import { register } from "./register.ts";
import { appLogger, openEventStore, storeCheck, stripeApiVersion } from "../wiring.ts";

export type WebhooksOptions = {
  config: Config;
  /** Default: the configured event store (closed with the app). */
  store?: EventStore;
  logger?: Logger;
  /** Default: a registry of its own, served at /metrics. */
  metrics?: PrometheusRegistry;
  hostname?: string;
  /** Default: config.webhooksPort; 0 picks a free port. */
  port?: number;
};

export type Webhooks = {
  /** e.g. http://127.0.0.1:7071 (the endpoint is at /api/StripeWebhookHandler). */
  url: string;
  port: number;
  close(): Promise<void>;
};

export const startWebhooks = async (options: WebhooksOptions): Promise<Webhooks> => {
  const { config } = options;
  const logger = options.logger ?? appLogger(config, "webhooks");
  const metrics = options.metrics ?? prometheusRegistry();
  const store = options.store ?? await openEventStore(config, logger);
  const ops = opsHandler({ checks: [storeCheck(store)], metrics: () => metrics.render() });
  const webhooks = webhookHandler({
    store,
    secret: config.stripeWebhooksSecret,
    apiKey: config.webhooksApiKey,
    clock: systemClock,
    logger,
    metrics,
    apiVersion: stripeApiVersion(config),
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      {
        hostname: options.hostname ?? "0.0.0.0",
        port: options.port ?? config.webhooksPort,
        onListen: () => {},
      },
      async (request) => await ops(request) ?? webhooks(request),
    );
  } catch (error) {
    if (!options.store) await store.close(); // the port is taken, say: leave nothing open
    throw error;
  }
  const host = server.addr.hostname === "0.0.0.0" ? "127.0.0.1" : server.addr.hostname;
  const url = `http://${host}:${server.addr.port}`;
  logger.info("listening", { port: server.addr.port, endpoint: `${url}/api/StripeWebhookHandler` });
  let closing: Promise<void> | undefined;
  return {
    url,
    port: server.addr.port,
    close: () =>
      closing ??= closeAll(logger, [
        ["store", options.store ? undefined : () => store.close()],
        ["server", () => server.shutdown()],
      ]),
  };
};

if (import.meta.main && Deno.args[0] === "register") {
  Deno.exit(await register(Deno.args.slice(1)));
} else if (import.meta.main) {
  await runApp(
    "webhooks",
    (env) =>
      loadConfig(env, {
        dev: Deno.args.includes("--dev"),
        required: ["STRIPE_WEBHOOKS_SECRET", "WEBHOOKS_API_KEY"],
      }),
    (config, logger) => startWebhooks({ config, logger }),
  );
}
