// The contract every ReadModelStore passes: run by each adapter's test file.
import assert from "node:assert/strict";
import type {
  PlanView,
  PriceTierView,
  ReadModelStore,
} from "../../../application/ports/read_model.ts";

const plan = (id: string, name = `Plan ${id}`, version = 0) =>
  ({ id, name, version }) as unknown as PlanView;
const tier = (id: string, planId: string, unitAmount = 100) =>
  ({ id, planId, unitAmount, version: 0 }) as unknown as PriceTierView;

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
};
