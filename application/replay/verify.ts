/**
 * --verify: every difference between the stored projections and a fresh rebuild of the
 * same events: those up to the stored checkpoint, so a read model that merely lags behind
 * the store shows no drift.
 * @module
 */
import type { EventStore } from "../ports/event_store.ts";
import {
  type Checkpoint,
  type Collection,
  COLLECTIONS,
  type ReadView,
} from "../ports/read_model.ts";
import { checkpointEvent } from "../shared/checkpoint_event.ts";
import { rebuild, type RebuildOptions, type Rebuilt } from "./rebuild.ts";

/** The whole document is missing on one side: its `field` is DOCUMENT. */
export const DOCUMENT = "(document)";

export type Drift = {
  /** "checkpoint": the stored checkpoint names an event this store does not hold. */
  collection: Collection | "checkpoint";
  id: string;
  field: string;
  /** undefined: the stored side lacks it. */
  stored: unknown;
  rebuilt: unknown;
};

// Key order differs between a fold and a row read back from a store; values must not.
const canonical = (value: unknown): string =>
  JSON.stringify(
    value,
    (_key, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : v,
  ) ?? "undefined";

const sameValue = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** Differences field by field, ordered by collection, then id, then field. */
export const compareViews = (stored: ReadView, rebuilt: ReadView): Drift[] => {
  const drifts: Drift[] = [];
  for (const collection of COLLECTIONS) {
    const storedDocs = new Map<string, Record<string, unknown>>(
      stored.list(collection).map((doc) => [doc.id, doc as Record<string, unknown>]),
    );
    const rebuiltDocs = new Map<string, Record<string, unknown>>(
      rebuilt.list(collection).map((doc) => [doc.id, doc as Record<string, unknown>]),
    );
    const ids = [...new Set([...storedDocs.keys(), ...rebuiltDocs.keys()])].sort();
    for (const id of ids) {
      const s = storedDocs.get(id);
      const r = rebuiltDocs.get(id);
      if (s === undefined || r === undefined) {
        drifts.push({ collection, id, field: DOCUMENT, stored: s, rebuilt: r });
        continue;
      }
      const fields = [...new Set([...Object.keys(s), ...Object.keys(r)])].sort();
      for (const field of fields) {
        if (!sameValue(s[field], r[field])) {
          drifts.push({ collection, id, field, stored: s[field], rebuilt: r[field] });
        }
      }
    }
  }
  return drifts;
};

export type Verified = { drifts: Drift[]; rebuilt: Rebuilt; checkpoint: number };

export const verifyProjections = async (
  store: EventStore,
  stored: ReadView & { checkpoint(): Checkpoint },
  options: Omit<RebuildOptions, "upTo" | "asOf"> = {},
): Promise<Verified> => {
  const checkpoint = stored.checkpoint();
  const drifts: Drift[] = [];
  if (checkpoint.position > 0) {
    // Found by its stream and revision: a global position may not be readable on its own.
    const event = await checkpointEvent(store, checkpoint);
    if (!event.held) {
      drifts.push({
        collection: "checkpoint",
        id: String(checkpoint.position),
        field: "eventId",
        stored: checkpoint.eventId,
        rebuilt: event.found,
      });
    }
  }
  const rebuilt = await rebuild(store, { ...options, upTo: checkpoint.position });
  drifts.push(...compareViews(stored, rebuilt.view));
  return { drifts, rebuilt, checkpoint: checkpoint.position };
};
