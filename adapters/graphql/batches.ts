/**
 * Nested lists read in one batch per list. The documents a resolver returns together (a
 * page, a list) form a group; the first of them whose related documents (a plan's tiers, a
 * client's subscriptions, a subscription's payment) are asked for loads them for the whole
 * group in one read, and its siblings take theirs from there. So a page of any size costs
 * a fixed number of reads, and nothing is loaded that the operation does not select.
 * Groups belong to one operation (its context), so nothing read is kept past it.
 * @module
 */

type Doc = { id: string };
type Group = { members: Doc[]; loaded: Map<string, Map<string, unknown>> };

const byOperation = new WeakMap<object, WeakMap<Doc, Group>>();

const groupsOf = (operation: object) => {
  let groups = byOperation.get(operation);
  if (!groups) byOperation.set(operation, groups = new WeakMap());
  return groups;
};

/** Marks `docs` as read together in `operation`; returns them. */
export const together = <T extends Doc>(operation: object, docs: T[]): T[] => {
  const group: Group = { members: docs, loaded: new Map() };
  const groups = groupsOf(operation);
  for (const doc of docs) groups.set(doc, group);
  return docs;
};

/** The group of `doc`, or a group of its own when it was read alone. */
const groupOf = (operation: object, doc: Doc): Group => {
  const groups = groupsOf(operation);
  if (!groups.has(doc)) together(operation, [doc]);
  return groups.get(doc)!;
};

/** Loads `what` for every member of the group at first use, keyed by member id. */
const loadedFor = <V>(
  operation: object,
  doc: Doc,
  what: string,
  load: (members: Doc[]) => Map<string, V>,
): Map<string, V> => {
  const group = groupOf(operation, doc);
  let found = group.loaded.get(what) as Map<string, V> | undefined;
  if (!found) group.loaded.set(what, found = load(group.members));
  return found;
};

/**
 * The documents related to `parent` whose `parentOf` is its id, loaded for its whole group
 * by `load(parentIds)`. What is loaded forms a group too (a client's subscriptions with the
 * subscriptions of the other clients of the page).
 */
export const children = <C extends Doc>(
  operation: object,
  parent: Doc,
  what: string,
  load: (parentIds: string[]) => C[],
  parentOf: (child: C) => string | null,
): C[] =>
  loadedFor(operation, parent, what, (members) => {
    const all = together(operation, load(members.map((member) => member.id)));
    const byParent = new Map<string, C[]>();
    for (const child of all) {
      const id = parentOf(child);
      if (id === null) continue;
      const siblings = byParent.get(id);
      if (siblings) siblings.push(child);
      else byParent.set(id, [child]);
    }
    return byParent;
  }).get(parent.id) ?? [];

/** The one document `doc` refers to by `idOf`, loaded for its whole group by `load(ids)`. */
export const referenced = <D extends Doc, R extends Doc>(
  operation: object,
  doc: D,
  what: string,
  idOf: (doc: D) => string | null,
  load: (ids: string[]) => R[],
): R | null => {
  const id = idOf(doc);
  if (id === null) return null;
  return loadedFor(operation, doc, what, (members) => {
    const ids = (members as D[]).map(idOf).filter((ref): ref is string => ref !== null);
    return new Map(load([...new Set(ids)]).map((found) => [found.id, found]));
  }).get(id) ?? null;
};
