/**
 * Opens what replay reads: the apps' event store and the product API's stored read model.
 * Neither is created when absent: an auditor pointing at the wrong DATA_DIR hears so.
 * @module
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { sqliteEventStore } from "../../adapters/eventstore/sqlite.ts";
import { sqliteReadModel } from "../../adapters/readmodel/sqlite.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import type { ReadModelStore } from "../../application/ports/read_model.ts";
import type { Config } from "../config.ts";

/** What replay cannot work without; the message says what to set. */
export class NothingToReplay extends Error {
  override name = "NothingToReplay";
}

export const EVENTS_FILE = "events.sqlite";
export const READ_MODEL_FILE = /^read_model-[^/\\]+\.sqlite$/;

const exists = (path: string) => {
  try {
    return Deno.statSync(path).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
};

export type OpenedStore = {
  store: EventStore;
  /** Events up to a position, for the progress bar; undefined when the store cannot tell cheaply. */
  count(upTo?: number): number | undefined;
  close(): Promise<void>;
};

export const openEventStore = async (config: Config): Promise<OpenedStore> => {
  if (config.eventStoreConnectionString !== null) {
    // Loaded only when asked for: the EventStoreDB client is large and slow to load.
    const { esdbEventStore } = await import("../../adapters/eventstore/esdb.ts");
    const store: EventStore = esdbEventStore(config.eventStoreConnectionString);
    return { store, count: () => undefined, close: () => store.close() };
  }
  const path = join(config.dataDir, EVENTS_FILE);
  if (!exists(path)) {
    throw new NothingToReplay(
      `no event store at ${path}: set DATA_DIR to the apps' data folder, or ` +
        "EVENTSTORE_CONNECTION_STRING to an EventStoreDB",
    );
  }
  const store = sqliteEventStore(path);
  // A second, read-only connection for the count: the port has no such question. A plain
  // count(*) reads a small index; one bounded by position would read every row's page, so
  // the events after `upTo` (a read model's lag: few) are counted and taken off instead.
  const counter = new DatabaseSync(path, { readOnly: true });
  const all = counter.prepare("SELECT count(*) AS n FROM events");
  const after = counter.prepare("SELECT count(*) AS n FROM events WHERE position > ?");
  const n = (row: unknown) => Number((row as { n: number }).n);
  return {
    store,
    count: (upTo) => n(all.get()) - (upTo === undefined ? 0 : n(after.get(upTo))),
    close: async () => {
      counter.close();
      await store.close();
    },
  };
};

/**
 * The read-model files of the product API processes in DATA_DIR, named as
 * apps/product_api/main.ts names them (read_model-<port>.sqlite), sorted.
 */
export const storedReadModelFiles = (config: Config): string[] => {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(config.dataDir)) {
      if (entry.isFile && READ_MODEL_FILE.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (names.length === 0) {
    throw new NothingToReplay(
      `no stored projections (read_model-<port>.sqlite) in ${config.dataDir}: --verify ` +
        "compares with the read model a product API keeps there",
    );
  }
  return names.sort().map((name) => join(config.dataDir, name));
};

/** One product API's read model, opened as its owner opens it (and locked meanwhile). */
export const openStoredReadModel = (path: string): ReadModelStore => sqliteReadModel(path);
