/**
 * `deno task dev`: the whole system in one process on this machine. The product API, the
 * webhook endpoint, the outbox publisher and the outbound and inbound consumers share one
 * event store and one bus: SQLite files under DATA_DIR and the in-process bus unless
 * EVENTSTORE_CONNECTION_STRING / KAFKA_BROKERS name the real engines; and a Stripe
 * simulator, posting signed webhooks back to the endpoint, unless STRIPE_API_KEY is set.
 * The outbox and the consumers run in a worker thread of their own (consumers.ts), so
 * that applying a burst of events never holds up the endpoint or the API.
 * How the parts fit together: docs/architecture.md.
 *
 * `deno task dev`
 * @module
 */
import { join } from "node:path";
import { sqliteEventStore } from "../../adapters/eventstore/sqlite.ts";
import { startSqliteWriter } from "../../adapters/eventstore/sqlite_writer.ts";
import { systemClock } from "../../application/ports/clock.ts";
import type { Logger } from "../../application/ports/logger.ts";
import type { Config } from "../config.ts";
import { closeAll, runApp } from "../runner.ts";
import { DATA_FILES, openEventStore, stripeTarget } from "../wiring.ts";
import { startProductApi } from "../product_api/main.ts";
import { startWebhooks } from "../webhooks/main.ts";
import { banner, type DevUrls } from "./banner.ts";
import { startConsumersWorker } from "./consumers.ts";
import { removeRunFile, writeRunFile } from "./run_file.ts";
import { loadDevConfig } from "./secrets.ts";

export type Dev = {
  urls: DevUrls;
  /** Rejects when the product API's read model failed for good. */
  failed: Promise<unknown>;
  close(): Promise<void>;
};

const onPort = async <T>(variable: string, port: number, start: () => Promise<T>) => {
  try {
    return await start();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    throw new Error(
      `port ${port} is taken (${variable}): stop what listens there, or set ${variable}`,
    );
  }
};

/**
 * Starts every part over one store and one bus (the consumers in a worker thread, with
 * connections of their own to both). `webhooksUrl`: where the simulator posts
 * its webhooks, when not to this process's own endpoint (WEBHOOKS_URL, behind a proxy).
 */
export const startDev = async (
  config: Config,
  { logger, webhooksUrl }: { logger: Logger; webhooksUrl?: string },
): Promise<Dev> => {
  const opened: [string, () => Promise<unknown>][] = [];
  const close = () => closeAll(logger, opened);
  try {
    // One writer thread makes every write to the events file, for this thread's store and
    // the consumers' (adapters/eventstore/sqlite_writer.ts): neither waits for the other's
    // lock, a webhook's sync to disk holds no event loop, and each commit wakes both sides'
    // subscriptions at once.
    const writer = config.eventStoreConnectionString === null
      ? await startSqliteWriter(join(config.dataDir, DATA_FILES.events))
      : null;
    if (writer) opened.push(["event store writer", writer.close]);
    const store = writer
      ? sqliteEventStore(join(config.dataDir, DATA_FILES.events), {
        clock: systemClock,
        writer: writer.connect(),
      })
      : await openEventStore(config, logger.with({ component: "event_store" }));
    opened.push(["event store", () => store.close()]);
    const webhooks = await onPort(
      "WEBHOOKS_PORT",
      config.webhooksPort,
      () => startWebhooks({ config, store, logger: logger.with({ app: "webhooks" }) }),
    );
    opened.push(["webhooks", webhooks.close]);
    // Closed after the consumers (closeAll goes last first): a Stripe call in hand completes.
    const stripe = stripeTarget(config, { webhooksUrl: webhooksUrl ?? webhooks.url, logger });
    opened.push(["Stripe simulator", stripe.close]);
    const consumers = await onPort(
      "KAFKA_CONSUMER_PORT",
      config.consumerPort,
      () =>
        startConsumersWorker(config, {
          stripe: { apiKey: stripe.apiKey, apiBase: stripe.apiBase },
          writer: writer?.connect() ?? null,
          logger,
        }),
    );
    opened.push(["consumers", consumers.close]);
    const api = await onPort(
      "PRODUCT_API_PORT",
      config.productApiPort,
      () =>
        startProductApi({
          config,
          store,
          stripe,
          logger: logger.with({ app: "product_api" }),
        }),
    );
    opened.push(["product API", api.close]);
    const urls: DevUrls = {
      graphql: api.url,
      webhooks: webhooks.url,
      consumerOps: `http://127.0.0.1:${consumers.port}`,
      stripeSimulator: stripe.simulator?.url ?? null,
    };
    await writeRunFile(config.dataDir, urls);
    opened.push(["run file", () => removeRunFile(config.dataDir)]);
    const failed = [api.projector.done, consumers.failed, ...writer ? [writer.failed] : []];
    return { urls, failed: Promise.race(failed), close };
  } catch (error) {
    await close();
    throw error;
  }
};

if (import.meta.main) {
  // The banner prints the made-up secrets once everything listens; runApp would print
  // them at start as well.
  let madeUp: Record<string, string> = {};
  await runApp(
    "dev",
    (env) => {
      const config = loadDevConfig(env);
      madeUp = config.madeUp;
      return { ...config, madeUp: {} };
    },
    async (config, logger) => {
      const dev = await startDev(config, {
        logger,
        webhooksUrl: Deno.env.get("WEBHOOKS_URL") ? config.webhooksUrl : undefined,
      });
      console.log(banner({ ...config, madeUp }, dev.urls));
      return dev;
    },
  );
}
