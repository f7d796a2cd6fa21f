/**
 * The rebuild: every event of the store, in global order, folded by the same projections
 * the product API keeps (application/projections), into documents held in memory. It
 * reads the store and writes nothing.
 * @module
 */
import type { EventStore } from "../ports/event_store.ts";
import { project } from "../projections/mod.ts";
import {
  type Change,
  type Collection,
  COLLECTIONS,
  parentOf,
  type ReadView,
  type Views,
} from "../ports/read_model.ts";
import { recordedBy } from "./streams.ts";

export type RebuildProgress = {
  /** Events read so far, counted or not by --as-of. */
  read: number;
  /** Global position of the last event read. */
  position: number;
};

export type RebuildOptions = {
  /** Epoch ms: events recorded later are read but not folded. */
  asOf?: number;
  /** Stop after this global position (a stored projection's checkpoint). */
  upTo?: number;
  pageSize?: number;
  /** Called after each page. */
  onProgress?: (progress: RebuildProgress) => void;
};

export type Rebuilt = {
  view: ReadView;
  /** Documents per collection. */
  counts: Record<Collection, number>;
  /** Plans and tiers that are deleted (archived) among the counted ones. */
  deleted: { plans: number; priceTiers: number };
  /** Events folded (those recorded by asOf). */
  events: number;
  /** Streams whose first event was folded. */
  streams: number;
  /** Events read, folded or not. */
  read: number;
  /** Global position of the last event folded; 0 when none. */
  position: number;
};

/** Documents in Maps: all a rebuild needs, with less work per event than an overlay. */
const memoryView = () => {
  const docs = new Map<Collection, Map<string, Views[Collection]>>(
    COLLECTIONS.map((c) => [c, new Map()]),
  );
  const of = <C extends Collection>(c: C) => docs.get(c) as Map<string, Views[C]>;
  const view: ReadView = {
    get: (collection, id) => of(collection).get(id) ?? null,
    list: (collection, parentId) => {
      const all = [...of(collection).values()];
      return parentId === undefined
        ? all
        : all.filter((doc) => parentOf(collection, doc) === parentId);
    },
  };
  const apply = (changes: readonly Change[]) => {
    for (const { collection, doc } of changes) of(collection).set(doc.id, doc);
  };
  return { view, apply, of };
};

export const rebuild = async (
  store: EventStore,
  { asOf, upTo = Infinity, pageSize = 1000, onProgress }: RebuildOptions = {},
): Promise<Rebuilt> => {
  const state = memoryView();
  const counted = recordedBy(asOf);
  let read = 0;
  let events = 0;
  let streams = 0;
  let after = 0;
  let position = 0;
  for (;;) {
    const page = await store.readAll({ after, limit: pageSize });
    let stop = page.length === 0;
    for (const event of page) {
      if (event.position > upTo) {
        stop = true;
        break;
      }
      read++;
      after = event.position;
      if (!counted(event)) continue;
      events++;
      position = event.position;
      // A stream exists from its first event on: counting those needs no set of ids.
      if (event.revision === 0) streams++;
      state.apply(project(state.view, event));
    }
    onProgress?.({ read, position: after });
    if (stop) break;
  }
  const counts = Object.fromEntries(
    COLLECTIONS.map((c) => [c, state.of(c).size]),
  ) as Record<Collection, number>;
  const deletedOf = (docs: Iterable<{ deleted: boolean }>) => {
    let deleted = 0;
    for (const doc of docs) if (doc.deleted) deleted++;
    return deleted;
  };
  const deleted = {
    plans: deletedOf(state.of("plans").values()),
    priceTiers: deletedOf(state.of("priceTiers").values()),
  };
  return { view: state.view, counts, deleted, events, streams, read, position };
};
