/**
 * Runs the consumer app of `deno task dev` in a worker thread (consumers_worker.ts), so the
 * outbox and the consumers have an event loop (and a core) of their own while the webhook
 * endpoint, the API and the Stripe simulator keep the main one. Each side reads the event
 * store on a connection of its own and writes through the store's one writer thread, whose
 * every commit wakes both sides' subscriptions. The worker runs at a lower priority where
 * the OS lets a thread have one (Linux, ten nice steps down): when the cores are scarce, the
 * endpoint and the API get them first.
 * @module
 */
import type { Logger } from "../../application/ports/logger.ts";
import type { Config } from "../config.ts";
import type { FromWorker, ToWorker } from "./consumers_worker.ts";

export type ConsumersWorker = {
  /** Where its ops routes listen (KAFKA_CONSUMER_PORT). */
  port: number | null;
  /** Rejects when the worker failed for good. */
  failed: Promise<never>;
  close(): Promise<void>;
};

export const startConsumersWorker = async (
  config: Config,
  { stripe, writer, logger }: {
    stripe: { apiKey: string; apiBase: string | null };
    /** A port to the event store's writer thread (SQLite), handed over to the worker. */
    writer: MessagePort | null;
    logger: Logger;
  },
): Promise<ConsumersWorker> => {
  const worker = new Worker(new URL("./consumers_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const send = (message: ToWorker, transfer: Transferable[] = []) =>
    worker.postMessage(message, transfer);
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => fail = reject);
  failed.catch(() => {});
  let started!: (port: number | null) => void;
  let refused!: (error: Error) => void;
  const ready = new Promise<number | null>((resolve, reject) => {
    started = resolve;
    refused = reject;
  });
  let closed: () => void = () => {};
  worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
    if ("started" in data) started(data.started.port);
    else if ("failed" in data) {
      refused(data.addrInUse ? new Deno.errors.AddrInUse(data.failed) : new Error(data.failed));
    } else closed();
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const error = new Error(`the consumers' worker failed: ${event.message}`);
    logger.error("the consumers' worker failed", { error: event.message });
    refused(error);
    fail(error);
  };
  send({ start: { config, stripe, writer } }, writer ? [writer] : []);
  let port: number | null;
  try {
    port = await ready;
  } catch (error) {
    worker.terminate();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    port,
    failed,
    close: () =>
      closing ??= new Promise<void>((resolve) => {
        closed = resolve;
        send({ close: true });
      }).then(() => worker.terminate()),
  };
};
