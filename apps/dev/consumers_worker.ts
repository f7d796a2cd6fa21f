/**
 * The consumer app of `deno task dev` (outbox, outbound and inbound consumers, their ops
 * routes) in a worker thread of the dev process: its own connections to the event store
 * and the bus, its own event loop, so that importing a burst of Stripe events does not
 * hold up the webhook endpoint and the API on the main thread. Driven by consumers.ts.
 * @module
 */
import { join } from "node:path";
import { getPriority, setPriority } from "node:os";
import { prometheusRegistry } from "../../adapters/observability/prometheus.ts";
import { sqliteEventStore } from "../../adapters/eventstore/sqlite.ts";
import { systemClock } from "../../application/ports/clock.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import type { Bus } from "../../application/ports/bus.ts";
import type { Config } from "../config.ts";
import { startKafkaConsumer } from "../kafka_consumer/main.ts";
import { appLogger, DATA_FILES, openBus, openEventStore } from "../wiring.ts";

export type ToWorker =
  | {
    start: {
      config: Config;
      stripe: { apiKey: string; apiBase: string | null };
      writer: MessagePort | null;
    };
  }
  | { close: true };

export type FromWorker =
  | { started: { port: number | null } }
  | { failed: string; addrInUse: boolean }
  | { closed: true };

const worker = self as unknown as {
  onmessage: (event: MessageEvent<ToWorker>) => void;
  postMessage(message: FromWorker): void;
};

let running: { store: EventStore; bus: Bus; close(): Promise<void> } | null = null;

/**
 * The consumers run ten nice steps below the process (at most 19, the lowest). Relative, as
 * `nice deno task dev` may have lowered the process already, and only root may raise it back.
 */
const LOWER_BY = 10;
const granted = (kind: "getPriority" | "setPriority") =>
  Deno.permissions.querySync({ name: "sys", kind }).state === "granted";

const start = async (
  { config, stripe, writer }: Extract<ToWorker, { start: unknown }>["start"],
) => {
  const logger = appLogger(config, "dev").with({ app: "kafka_consumer" });
  // On Linux the priority is the calling thread's own; elsewhere setpriority(0) would lower the
  // whole process, the endpoint with it.
  if (Deno.build.os === "linux" && granted("getPriority") && granted("setPriority")) {
    try {
      setPriority(0, Math.min(19, getPriority(0) + LOWER_BY));
    } catch (error) {
      logger.warn("could not lower the consumers' priority: they run at the endpoint's", { error });
    }
  }
  const store = writer
    ? sqliteEventStore(join(config.dataDir, DATA_FILES.events), { clock: systemClock, writer })
    : await openEventStore(config, logger);
  const metrics = prometheusRegistry();
  const bus = await openBus(config, "nudges-dev", logger, metrics);
  try {
    const app = await startKafkaConsumer({ config, store, bus, stripe, metrics, logger });
    running = { store, bus, close: app.close };
    worker.postMessage({ started: { port: app.port } });
  } catch (error) {
    await bus.close();
    await store.close();
    throw error;
  }
};

worker.onmessage = ({ data }) => {
  if ("start" in data) {
    start(data.start).catch((error) =>
      worker.postMessage({
        failed: error instanceof Error ? error.message : String(error),
        addrInUse: error instanceof Deno.errors.AddrInUse,
      })
    );
  } else {
    const stopping = running;
    running = null;
    (async () => {
      if (stopping) {
        await stopping.close();
        await stopping.bus.close();
        await stopping.store.close();
      }
      worker.postMessage({ closed: true });
    })();
  }
};
