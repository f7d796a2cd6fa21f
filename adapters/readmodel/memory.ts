/**
 * In-memory read-model store: for tests and throwaway runs. Same contract as the SQLite one.
 * @module
 */
import {
  type Change,
  type Checkpoint,
  type Collection,
  type Filter,
  NO_CHECKPOINT,
  type Page,
  type PageRequest,
  PARENT_FIELD,
  parentOf,
  type Ranked,
  type ReadModelStore,
  type Views,
} from "../../application/ports/read_model.ts";

type Doc = Views[Collection];

/** One collection: documents by id, their ranks, and each parent's children, all in rank order. */
type Shelf = {
  byId: Map<string, Doc>;
  rankOf: Map<string, number>;
  /** ids by rank: ranked[rank - 1]. */
  ranked: string[];
  children: Map<string, Set<string>>;
};

const newShelf = (): Shelf => ({
  byId: new Map(),
  rankOf: new Map(),
  ranked: [],
  children: new Map(),
});

const matches = <C extends Collection>(doc: Views[C], where: Filter<C> = {}) =>
  Object.entries(where).every(([field, value]) =>
    ((doc as Record<string, unknown>)[field] ?? null) === value
  );

export const memoryReadModel = (
  subscriberId = `read-model-${crypto.randomUUID()}`,
): ReadModelStore => {
  let shelves = new Map<Collection, Shelf>();
  let checkpoint = NO_CHECKPOINT;

  const shelf = (collection: Collection): Shelf => {
    let found = shelves.get(collection);
    if (!found) shelves.set(collection, found = newShelf());
    return found;
  };

  const put = ({ collection, doc }: Change) => {
    const { byId, rankOf, ranked, children } = shelf(collection);
    const before = byId.get(doc.id);
    byId.set(doc.id, doc);
    if (!rankOf.has(doc.id)) rankOf.set(doc.id, ranked.push(doc.id));
    const [was, now] = [before && parentOf(collection, before), parentOf(collection, doc)];
    if (was === now) return;
    if (was) children.get(was)?.delete(doc.id);
    // A Set keeps insertion order; a document moved to another parent is ranked by its
    // first storing everywhere else, so the children are sorted back by rank when read.
    if (now) children.set(now, (children.get(now) ?? new Set()).add(doc.id));
  };

  const byRank = (collection: Collection, ids: Iterable<string>) => {
    const { rankOf } = shelf(collection);
    return [...ids].sort((a, b) => rankOf.get(a)! - rankOf.get(b)!);
  };

  /** Ids in rank order after `after`, narrowed to one parent's children when `where` names it. */
  const candidates = <C extends Collection>(collection: C, after: number, where?: Filter<C>) => {
    const { ranked, children, rankOf } = shelf(collection);
    const parentField = PARENT_FIELD[collection];
    const parent = parentField === undefined
      ? undefined
      : (where as Record<string, unknown> | undefined)?.[parentField];
    if (typeof parent !== "string") return ranked.slice(after);
    return byRank(collection, children.get(parent) ?? []).filter((id) => rankOf.get(id)! > after);
  };

  return {
    subscriberId,
    get: <C extends Collection>(collection: C, id: string) =>
      (shelf(collection).byId.get(id) as Views[C] | undefined) ?? null,
    list<C extends Collection>(collection: C, parentId?: string): Views[C][] {
      const { byId, children } = shelf(collection);
      if (parentId === undefined) return [...byId.values()] as Views[C][];
      const ids = byRank(collection, children.get(parentId) ?? []);
      return ids.map((id) => byId.get(id)) as Views[C][];
    },
    page<C extends Collection>(collection: C, { after, first, where }: PageRequest<C>): Page<C> {
      const { byId, rankOf } = shelf(collection);
      const items: Ranked<Views[C]>[] = [];
      for (const id of candidates(collection, after, where)) {
        const doc = byId.get(id) as Views[C];
        if (!matches(doc, where)) continue;
        if (items.length === first) return { items, hasNextPage: true };
        items.push({ rank: rankOf.get(id)!, doc });
      }
      return { items, hasNextPage: false };
    },
    count: <C extends Collection>(collection: C, where?: Filter<C>) =>
      candidates(collection, 0, where)
        .filter((id) => matches(shelf(collection).byId.get(id) as Views[C], where)).length,
    childrenOf<C extends Collection>(collection: C, parentIds: readonly string[]): Views[C][] {
      const { byId, children } = shelf(collection);
      const ids = [...new Set(parentIds)].flatMap((parent) => [...children.get(parent) ?? []]);
      return byRank(collection, ids).map((id) => byId.get(id)) as Views[C][];
    },
    getMany: <C extends Collection>(collection: C, ids: readonly string[]) =>
      [...new Set(ids)].flatMap((id) => shelf(collection).byId.get(id) ?? []) as Views[C][],
    largestFamily: (collection: Collection) =>
      [...shelf(collection).children.values()].reduce((most, ids) => Math.max(most, ids.size), 0),
    checkpoint: (): Checkpoint => checkpoint,
    commit(changes, next) {
      // Copied through JSON first, as the SQLite store keeps them: what it cannot hold fails
      // here too, before anything is applied, and a caller's later mutation cannot reach in.
      const copies: Change[] = changes.map((change) => JSON.parse(JSON.stringify(change)));
      for (const change of copies) put(change);
      checkpoint = next;
    },
    reset() {
      shelves = new Map();
      checkpoint = NO_CHECKPOINT;
    },
    close() {},
  };
};
