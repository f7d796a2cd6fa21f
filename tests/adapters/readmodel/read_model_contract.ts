// The contract every ReadModelStore passes: run by each adapter's test file.
import assert from "node:assert/strict";
import type {
  Change,
  PlanSubscriptionView,
  PlanView,
  PriceTierView,
  ReadModelStore,
} from "../../../application/ports/read_model.ts";

const plan = (id: string, name = `Plan ${id}`, version = 0) =>
  ({ id, name, version }) as unknown as PlanView;
const tier = (id: string, planId: string, unitAmount = 100) =>
  ({ id, planId, unitAmount, version: 0 }) as unknown as PriceTierView;
const subscription = (id: string, clientId: string | null, status = "active") =>
  ({ id, clientId, status, version: 0 }) as unknown as PlanSubscriptionView;

let position = 100;
const commit = (store: ReadModelStore, changes: Change[]) =>
  store.commit(changes, { position: ++position, eventId: `e${position}` });
const plans = (...docs: PlanView[]): Change[] => docs.map((doc) => ({ collection: "plans", doc }));

export const readModelContract = (name: string, open: () => ReadModelStore) => {
  const test = (title: string, body: (store: ReadModelStore) => void) =>
    Deno.test(`${name}: ${title}`, () => {
      const store = open();
      try {
        body(store);
      } finally {
        store.close();
      }
    });

  test("a new store is empty at checkpoint 0", (store) => {
    assert.deepEqual(store.checkpoint(), { position: 0, eventId: null });
    assert.equal(store.get("plans", "p1"), null);
    assert.deepEqual(store.list("plans"), []);
    assert.match(store.subscriberId, /\S/);
  });

  test("commit() stores documents and the checkpoint together", (store) => {
    const checkpoint = { position: 7, eventId: "e7", streamId: "plan-p1", revision: 3 };
    store.commit([{ collection: "plans", doc: plan("p1") }], checkpoint);
    assert.deepEqual(store.get("plans", "p1"), plan("p1"));
    assert.deepEqual(store.checkpoint(), checkpoint);
    assert.equal(store.get("priceTiers", "p1"), null, "collections are apart");
  });

  test("list() keeps first-stored order when documents are replaced", (store) => {
    store.commit([
      { collection: "plans", doc: plan("b") },
      { collection: "plans", doc: plan("a") },
    ], { position: 1, eventId: "e1" });
    store.commit([{ collection: "plans", doc: plan("b", "B again", 1) }], {
      position: 2,
      eventId: "e2",
    });
    assert.deepEqual(store.list("plans").map((p) => [p.id, p.name]), [
      ["b", "B again"],
      ["a", "Plan a"],
    ]);
  });

  test("list() by parent gives only that parent's documents", (store) => {
    store.commit([
      { collection: "priceTiers", doc: tier("t1", "p1") },
      { collection: "priceTiers", doc: tier("t2", "p2") },
      { collection: "priceTiers", doc: tier("t3", "p1") },
    ], { position: 3, eventId: "e3" });
    assert.deepEqual(store.list("priceTiers", "p1").map((t) => t.id), ["t1", "t3"]);
    assert.deepEqual(store.list("priceTiers", "p9"), []);
    assert.equal(store.list("priceTiers").length, 3);
  });

  test("commit() of a document that cannot be stored changes nothing", (store) => {
    store.commit([{ collection: "plans", doc: plan("p1") }], { position: 1, eventId: "e1" });
    const broken = { ...plan("p2"), name: 10n } as unknown as PlanView;
    assert.throws(() =>
      store.commit([{ collection: "plans", doc: plan("p1", "changed") }, {
        collection: "plans",
        doc: broken,
      }], { position: 2, eventId: "e2" })
    );
    assert.equal(store.get("plans", "p1")?.name, "Plan p1");
    assert.equal(store.get("plans", "p2"), null);
    assert.deepEqual(store.checkpoint(), { position: 1, eventId: "e1" });
  });

  test("a stored document is a copy: changing the committed object changes nothing", (store) => {
    const doc = plan("p1");
    store.commit([{ collection: "plans", doc }], { position: 1, eventId: "e1" });
    doc.name = "mutated";
    assert.equal(store.get("plans", "p1")?.name, "Plan p1");
  });

  test("reset() forgets every document and the checkpoint", (store) => {
    store.commit([
      { collection: "plans", doc: plan("p1") },
      { collection: "priceTiers", doc: tier("t1", "p1") },
    ], { position: 4, eventId: "e4", streamId: "priceTier-t1", revision: 0 });
    const id = store.subscriberId;
    store.reset();
    assert.deepEqual(store.list("plans"), []);
    assert.deepEqual(store.list("priceTiers", "p1"), []);
    assert.deepEqual(store.checkpoint(), { position: 0, eventId: null });
    assert.equal(store.subscriberId, id);
  });

  test("page() gives ranks in first-stored order, and pages after a rank never skip or repeat", (store) => {
    commit(store, plans(plan("c"), plan("a"), plan("b")));
    const first = store.page("plans", { after: 0, first: 2 });
    assert.deepEqual(first.items.map(({ rank, doc }) => [rank, doc.id]), [[1, "c"], [2, "a"]]);
    assert.equal(first.hasNextPage, true);
    // Writes between pages: an update keeps its rank, a new document comes last.
    commit(store, plans(plan("c", "C again", 1), plan("d")));
    commit(store, plans(plan("a", "A again", 1)));
    const rest = store.page("plans", { after: 2, first: 2 });
    assert.deepEqual(rest.items.map(({ rank, doc }) => [rank, doc.id]), [[3, "b"], [4, "d"]]);
    assert.equal(rest.hasNextPage, false);
    assert.deepEqual(store.page("plans", { after: 4, first: 2 }), {
      items: [],
      hasNextPage: false,
    });
    assert.deepEqual(store.page("plans", { after: 0, first: 0 }), { items: [], hasNextPage: true });
    assert.equal(store.page("plans", { after: 0, first: 10 }).items[0]?.doc.name, "C again");
  });

  test("page() and count() keep to a filter, parent fields and null included", (store) => {
    const inactive = (id: string) => ({ ...plan(id), isActive: false }) as PlanView;
    const active = (id: string) => ({ ...plan(id), isActive: true }) as PlanView;
    commit(store, plans(active("p1"), inactive("p2"), active("p3"), active("p4")));
    const on = store.page("plans", { after: 1, first: 1, where: { isActive: true } });
    assert.deepEqual(on.items.map(({ rank, doc }) => [rank, doc.id]), [[3, "p3"]]);
    assert.equal(on.hasNextPage, true);
    assert.equal(store.count("plans", { isActive: true }), 3);
    assert.equal(store.count("plans", { isActive: false }), 1);
    assert.equal(store.count("plans"), 4);

    commit(store, [
      { collection: "planSubscriptions", doc: subscription("s1", "ada") },
      { collection: "planSubscriptions", doc: subscription("s2", "bob", "canceled") },
      { collection: "planSubscriptions", doc: subscription("s3", null, "pending") },
      { collection: "planSubscriptions", doc: subscription("s4", "ada", "canceled") },
    ]);
    // A subscription that gets its client later moves under that client, keeping its rank.
    commit(store, [{ collection: "planSubscriptions", doc: subscription("s3", "ada") }]);
    const ids = (where: Record<string, string | null>) =>
      store.page("planSubscriptions", { after: 0, first: 10, where }).items.map((i) => i.doc.id);
    assert.deepEqual(ids({ clientId: "ada" }), ["s1", "s3", "s4"]);
    assert.deepEqual(ids({ clientId: "ada", status: "canceled" }), ["s4"]);
    assert.deepEqual(ids({ status: "canceled" }), ["s2", "s4"]);
    assert.deepEqual(ids({ clientId: null }), []);
    assert.equal(store.count("planSubscriptions", { clientId: "ada" }), 3);
    assert.equal(store.count("planSubscriptions", { clientId: "ada", status: "active" }), 2);
    assert.deepEqual(
      store.page("planSubscriptions", { after: 1, first: 1, where: { clientId: "ada" } }).items
        .map(({ rank, doc }) => [rank, doc.id]),
      [[3, "s3"]],
    );
  });

  test("childrenOf() and getMany() read many parents or ids at once", (store) => {
    commit(store, [
      { collection: "priceTiers", doc: tier("t1", "p1") },
      { collection: "priceTiers", doc: tier("t2", "p2") },
      { collection: "priceTiers", doc: tier("t3", "p3") },
      { collection: "priceTiers", doc: tier("t4", "p1") },
    ]);
    assert.deepEqual(store.childrenOf("priceTiers", ["p1", "p3", "p9"]).map((t) => t.id), [
      "t1",
      "t3",
      "t4",
    ]);
    assert.deepEqual(store.childrenOf("priceTiers", []), []);
    assert.deepEqual(store.getMany("priceTiers", ["t4", "nope", "t2"]).map((t) => t.id).sort(), [
      "t2",
      "t4",
    ]);
    assert.equal(store.largestFamily("priceTiers"), 2);
    assert.equal(store.largestFamily("planSubscriptions"), 0);
  });

  test("reset() starts ranks again from 1, as a store built anew does", (store) => {
    commit(store, plans(plan("a"), plan("b")));
    store.reset();
    commit(store, plans(plan("b")));
    assert.deepEqual(
      store.page("plans", { after: 0, first: 5 }).items.map(({ rank, doc }) => [rank, doc.id]),
      [[1, "b"]],
    );
  });
};
