/**
 * The product API: GraphQL at /graphql, ops routes beside it. Composes the event store,
 * this process's own read model and its projector, and the GraphQL server.
 *
 * `deno task product_api [--dev]`
 * @module
 */
import { join } from "node:path";
import { randomId, systemClock } from "../../application/ports/clock.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import type { Logger } from "../../application/ports/logger.ts";
import { type Projector, startProjector } from "../../application/projections/projector.ts";
import type { ReadModelStore } from "../../application/ports/read_model.ts";
import { GRAPHQL_PATH, graphqlServer, type Limits } from "../../adapters/graphql/server.ts";
import { opsHandler } from "../../adapters/http/ops.ts";
import {
  type PrometheusRegistry,
  prometheusRegistry,
} from "../../adapters/observability/prometheus.ts";
import { sqliteReadModel } from "../../adapters/readmodel/sqlite.ts";
import { type Config, loadConfig } from "../config.ts";
import { runApp } from "../runner.ts";
import { appLogger, openEventStore, openStripe, storeCheck } from "../wiring.ts";

export type ProductApiOptions = {
  config: Config;
  /**
   * Default: EventStoreDB at EVENTSTORE_CONNECTION_STRING, else the SQLite event store at
   * DATA_DIR/events.sqlite (either closed with the API).
   */
  store?: EventStore;
  /** Default: DATA_DIR/read_model-<port>.sqlite, one file per process (closed with the API). */
  readModel?: ReadModelStore;
  logger?: Logger;
  /** Default: a registry of its own, served at /metrics. */
  metrics?: PrometheusRegistry;
  hostname?: string;
  /** Default: config.productApiPort; 0 picks a free port. */
  port?: number;
  limits?: Partial<Limits>;
  /**
   * The Stripe API createCheckoutSession calls: default STRIPE_API_KEY (at STRIPE_API_BASE)
   * when set; the dev run passes its simulator. Without either the mutation is refused.
   */
  stripe?: { apiKey: string; apiBase?: string | null };
};

export type ProductApi = {
  /** Where GraphQL is served, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  port: number;
  projector: Projector;
  close(): Promise<void>;
};

export const startProductApi = async (options: ProductApiOptions): Promise<ProductApi> => {
  const { config } = options;
  const port = options.port ?? config.productApiPort;
  const logger = options.logger ?? appLogger(config, "product_api");
  const store = options.store ?? await openEventStore(config, logger);
  const readModel = options.readModel ??
    sqliteReadModel(join(config.dataDir, `read_model-${port}.sqlite`));
  const metrics = options.metrics ?? prometheusRegistry();
  const projector = startProjector({ store, readModel, logger, metrics });
  const stripeApi = options.stripe ??
    (config.stripeApiKey === null ? null : { apiKey: config.stripeApiKey });
  const stripe = stripeApi && openStripe(config, { ...stripeApi, metrics, logger });
  const graphql = graphqlServer({
    store,
    projector,
    clock: systemClock,
    newId: randomId,
    logger,
    metrics,
    token: config.productApiToken,
    gateway: stripe?.gateway,
    publicReads: config.productApiPublicReads,
    limits: {
      maxSockets: config.productApiMaxSockets,
      maxOperationsPerSocket: config.productApiMaxSubscriptionsPerSocket,
      ...options.limits,
    },
  });
  const ops = opsHandler({
    checks: [
      storeCheck(store),
      {
        name: "readModel",
        check: () => {
          const status = projector.status();
          if (status !== "live") throw new Error(status);
          return Promise.resolve();
        },
      },
    ],
    // The lag is taken when scraped, from what the projector holds: no read of the store.
    metrics: () => projector.measureLag().then(() => metrics.render()),
  });

  const release = async () => {
    graphql.close();
    stripe?.dispose();
    await projector.stop();
    if (!options.readModel) readModel.close();
    if (!options.store) await store.close();
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: options.hostname ?? "0.0.0.0", port, onListen: () => {} },
      async (request) =>
        await ops(request) ?? await graphql.handle(request) ??
          new Response("not found", { status: 404 }),
    );
  } catch (error) {
    await release(); // the port is taken, say: leave nothing open behind
    throw error;
  }
  const host = server.addr.hostname === "0.0.0.0" ? "127.0.0.1" : server.addr.hostname;
  const url = `http://${host}:${server.addr.port}${GRAPHQL_PATH}`;
  logger.info("product API listening", { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    port: server.addr.port,
    projector,
    close: () =>
      closing ??= (async () => {
        graphql.close();
        await server.shutdown();
        await release();
      })(),
  };
};

if (import.meta.main) {
  await runApp(
    "product_api",
    (env) => loadConfig(env, { dev: Deno.args.includes("--dev"), required: ["PRODUCT_API_TOKEN"] }),
    async (config, logger) => {
      const api = await startProductApi({ config, logger });
      return { close: api.close, failed: api.projector.done };
    },
  );
}
