/**
 * In-memory read-model store: for tests and throwaway runs. Same contract as the SQLite one.
 * @module
 */
import {
  type Change,
  type Checkpoint,
  type Collection,
  NO_CHECKPOINT,
  parentOf,
  type ReadModelStore,
  type Views,
} from "../../application/ports/read_model.ts";

type Doc = Views[Collection];

export const memoryReadModel = (
  subscriberId = `read-model-${crypto.randomUUID()}`,
): ReadModelStore => {
  let docs = new Map<Collection, Map<string, Doc>>();
  // parent id → ids, per collection, so listing a plan's tiers does not scan every tier.
  let children = new Map<Collection, Map<string, Set<string>>>();
  let checkpoint = NO_CHECKPOINT;

  const put = ({ collection, doc }: Change) => {
    let byId = docs.get(collection);
    if (!byId) docs.set(collection, byId = new Map());
    const before = byId.get(doc.id);
    byId.set(doc.id, doc);
    const [was, now] = [before && parentOf(collection, before), parentOf(collection, doc)];
    if (was === now) return;
    let index = children.get(collection);
    if (!index) children.set(collection, index = new Map());
    if (was) index.get(was)?.delete(doc.id);
    if (now) index.set(now, (index.get(now) ?? new Set()).add(doc.id));
  };

  return {
    subscriberId,
    get: <C extends Collection>(collection: C, id: string) =>
      (docs.get(collection)?.get(id) as Views[C] | undefined) ?? null,
    list<C extends Collection>(collection: C, parentId?: string): Views[C][] {
      const byId = docs.get(collection) ?? new Map<string, Doc>();
      if (parentId === undefined) return [...byId.values()] as Views[C][];
      // Map order is first-insertion order, which the parent index's Set keeps too.
      const ids = children.get(collection)?.get(parentId) ?? [];
      return [...ids].map((id) => byId.get(id)) as Views[C][];
    },
    checkpoint: (): Checkpoint => checkpoint,
    commit(changes, next) {
      // Copied through JSON first, as the SQLite store keeps them: what it cannot hold fails
      // here too, before anything is applied, and a caller's later mutation cannot reach in.
      const copies: Change[] = changes.map((change) => JSON.parse(JSON.stringify(change)));
      for (const change of copies) put(change);
      checkpoint = next;
    },
    reset() {
      docs = new Map();
      children = new Map();
      checkpoint = NO_CHECKPOINT;
    },
    close() {},
  };
};
