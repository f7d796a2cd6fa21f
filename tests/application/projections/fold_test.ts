import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import type { RecordedEvent } from "../../../application/ports/event_store.ts";
import {
  foldEvents,
  planWithTiers,
  project,
  touchedPlanIds,
} from "../../../application/projections/fold.ts";
import { emptyView } from "../../../application/projections/overlay.ts";
import { checkout, writer } from "./events.ts";

const allEvents = async (store: ReturnType<typeof memoryEventStore>) =>
  await store.readAll({ limit: 100_000 });

Deno.test("foldEvents() makes a plan's document from its events, versioned by stream revision", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  await w.createPlan("p1", "Gold");
  await w.plan("p1", (at) => ({
    type: "UpdatePlan",
    data: { planId: "p1", at, description: "The best", isActive: false },
  }));
  await w.plan("p1", (at) => ({
    type: "LinkStripeProduct",
    data: { planId: "p1", at, stripeProductId: "prod_Q1" },
  }));

  const { view } = foldEvents(await allEvents(store));
  const plan = view.get("plans", "p1");
  assert.equal(plan?.name, "Gold");
  assert.equal(plan?.description, "The best");
  assert.equal(plan?.isActive, false);
  assert.equal(plan?.stripeProductId, "prod_Q1");
  assert.equal(plan?.syncStatus, "SYNCED");
  assert.equal(plan?.version, 2);
  assert.equal(plan?.createdAt, "2025-03-01T10:00:00.000Z");
  assert.equal(plan?.updatedAt, "2025-03-01T10:00:01.000Z");
});

Deno.test("foldEvents() keeps a plan's tiers under it in creation order, archived ones too", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  await w.createPlan("p1");
  await w.createPlan("p2");
  await w.createTier("t1", "p1", 1000);
  await w.createTier("t2", "p2", 2000);
  await w.createTier("t3", "p1", 3000);
  await w.tier("t1", (at) => ({ type: "DeletePriceTier", data: { priceTierId: "t1", at } }));

  const { view } = foldEvents(await allEvents(store));
  const plan = planWithTiers(view, "p1");
  assert.deepEqual(plan?.priceTiers.map((t) => [t.id, t.unitAmount, t.isActive]), [
    ["t1", 1000, false],
    ["t3", 3000, true],
  ]);
  assert.equal(planWithTiers(view, "missing"), null);
});

Deno.test("foldEvents() keeps clients with their subscriptions and payment confirmations", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  await w.createPlan("p1");
  await w.createTier("t1", "p1");
  await w.client("c1", (at) => ({
    type: "CreateClient",
    data: { clientId: "c1", at, name: "Ada", email: "ada@example.com" },
  }));
  await w.client("c1", (at) => ({
    type: "LinkStripeCustomer",
    data: { clientId: "c1", at, stripeCustomerId: "cus_1" },
  }));
  await checkout(w, { clientId: "c1", planId: "p1", priceTierId: "t1", n: 1 });

  const { view } = foldEvents(await allEvents(store));
  assert.equal(view.get("clients", "c1")?.stripeCustomerId, "cus_1");
  const [subscription] = view.list("planSubscriptions", "c1");
  assert.equal(subscription?.status, "active");
  assert.equal(subscription?.paymentConfirmationId, "pc-1");
  assert.equal(view.get("paymentConfirmations", "pc-1")?.paymentStatus, "paid");
  assert.deepEqual(view.list("planSubscriptions", "someone else"), []);
});

Deno.test("project() leaves streams that are not aggregates alone", () => {
  const event: RecordedEvent = {
    streamId: "stripeProductOwner-prod_1",
    revision: 0,
    position: 1,
    type: "StripeProductOwnerRecorded",
    data: { stripeProductId: "prod_1", planId: "p1" },
    metadata: {
      eventId: "e1",
      correlationId: "c",
      causationId: "c",
      cause: { kind: "system", reason: "test" },
    },
    recordedAt: "2025-03-01T10:00:00.000Z",
  };
  assert.deepEqual(project(emptyView, event), []);
  assert.deepEqual(project(emptyView, { ...event, streamId: "nodash" }), []);
});

Deno.test("touchedPlanIds() names changed plans and the plans of changed tiers, once each", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  await w.createPlan("p1");
  await w.createTier("t1", "p1");
  await w.createTier("t2", "p1");
  await w.client("c1", (at) => ({
    type: "CreateClient",
    data: { clientId: "c1", at, name: "Ada", email: "ada@example.com" },
  }));
  const { changes } = foldEvents(await allEvents(store));
  assert.deepEqual(touchedPlanIds(changes), ["p1"]);
});

Deno.test("foldEvents() over its own result continues the fold: two halves equal one pass", async () => {
  const store = memoryEventStore();
  const w = writer(store);
  await w.createPlan("p1");
  await w.createTier("t1", "p1");
  await w.plan("p1", (at) => ({ type: "UpdatePlan", data: { planId: "p1", at, name: "Silver" } }));
  await w.createTier("t2", "p1");
  await w.tier("t1", (at) => ({
    type: "LinkStripePrice",
    data: { priceTierId: "t1", at, stripePriceId: "price_1" },
  }));
  const events = await allEvents(store);

  const first = foldEvents(events.slice(0, 2));
  const second = foldEvents(events.slice(2), first.view);
  const once = foldEvents(events);
  assert.deepEqual(planWithTiers(second.view, "p1"), planWithTiers(once.view, "p1"));
  assert.equal(second.view.get("plans", "p1")?.name, "Silver");
  assert.equal(second.view.get("priceTiers", "t1")?.stripePriceId, "price_1");
});
