/**
 * Pending changes over a read view: what a projection batch has changed, visible to the
 * fold before the batch is committed, and the empty view a rebuild starts from.
 * @module
 */
import {
  type Change,
  type Collection,
  parentOf,
  type ReadView,
  type Views,
} from "../ports/read_model.ts";

/** Pending changes over a base view: what a batch has changed, visible before it is committed. */
export type Overlay = {
  view: ReadView;
  apply(changes: readonly Change[]): void;
  /** The latest version of each changed document, in the order first changed. */
  changes(): Change[];
  size(): number;
  clear(): void;
};

export const overlay = (base: ReadView): Overlay => {
  const pending = new Map<Collection, Map<string, Views[Collection]>>();
  const of = <C extends Collection>(c: C) => pending.get(c) as Map<string, Views[C]> | undefined;
  let count = 0;
  const view: ReadView = {
    get: (collection, id) => of(collection)?.get(id) ?? base.get(collection, id),
    list: (collection, parentId) => {
      const mine = of(collection);
      const listed = base.list(collection, parentId);
      if (!mine) return listed;
      const seen = new Set(listed.map((doc) => doc.id));
      const matches = (doc: Views[typeof collection]) =>
        parentId === undefined || parentOf(collection, doc) === parentId;
      return [
        ...listed.map((doc) => mine.get(doc.id) ?? doc).filter(matches),
        ...[...mine.values()].filter((doc) => !seen.has(doc.id) && matches(doc)),
      ];
    },
  };
  return {
    view,
    apply(changes) {
      for (const { collection, doc } of changes) {
        let docs = pending.get(collection);
        if (!docs) pending.set(collection, docs = new Map());
        if (!docs.has(doc.id)) count++;
        docs.set(doc.id, doc);
      }
    },
    changes: () =>
      [...pending].flatMap(([collection, docs]) =>
        [...docs.values()].map((doc) => ({ collection, doc }) as Change)
      ),
    size: () => count,
    clear() {
      pending.clear();
      count = 0;
    },
  };
};

/** A view with no documents. */
export const emptyView: ReadView = { get: () => null, list: () => [] };
