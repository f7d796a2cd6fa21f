import assert from "node:assert/strict";
import { memoryEventStore } from "../../../adapters/eventstore/memory.ts";
import { stripeClient } from "../../../adapters/stripe/sdk.ts";
import { stripeSdkApi } from "../../../adapters/stripe/sdk_reader.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { reconcile } from "../../../application/reconcile/run.ts";
import { repair } from "../../../application/reconcile/repair.ts";
import { runContext } from "../../../application/reconcile/run_context.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { StripeRecord } from "../../../application/ports/stripe_gateway.ts";
import { exitCodeOf } from "../../../application/reconcile/report.ts";
import {
  clients,
  plans,
  planSubscriptions,
  priceTiers,
} from "../../../application/shared/aggregates.ts";
import { nameBasedId } from "../../../application/shared/ids.ts";
import {
  dashboardProduct,
  nudgesClient,
  nudgesPlan,
  nudgesTier,
  reconcileDeps,
  secondsFromNow,
} from "../../support/reconcile_fixtures.ts";

const KEY = "sk_test_reconcile";

const setup = () => {
  const simulator = startStripeSimulator({ apiKey: KEY });
  const stripe = stripeClient({ apiKey: KEY, apiBase: simulator.url });
  const gateway = stripeSdkApi({ client: stripe });
  const store = memoryEventStore();
  return { simulator, stripe, gateway, store, deps: reconcileDeps(store, gateway) };
};

/** Every kind of drift, each on its own object. */
const seedDrift = async ({ stripe, gateway, store }: ReturnType<typeof setup>) => {
  // Missing in Nudges: made in the Dashboard, its webhooks never applied.
  const dashboard = await dashboardProduct(stripe);
  // Missing in Stripe: made in Nudges, never pushed.
  const pendingPlan = await nudgesPlan(store, { name: "Never pushed" });
  const pendingTier = await nudgesTier(store, pendingPlan);
  const pendingClient = await nudgesClient(store);
  // Different values: pushed and linked, then renamed in the Dashboard.
  const renamedPlan = await nudgesPlan(store, { name: "Old name", at: secondsFromNow(-120) });
  const renamed = await stripe.products.create({
    name: "Old name",
    metadata: { nudges_plan_id: renamedPlan },
  });
  await plans.handle(store, {
    type: "LinkStripeProduct",
    data: { planId: renamedPlan, at: secondsFromNow(-120), stripeProductId: renamed.id },
  }, {
    metadata: { correlationId: "t", causationId: "t", cause: { kind: "system", reason: "t" } },
  });
  await stripe.products.update(renamed.id, { name: "New name" });
  // An unlinked twin: outbound's create reached Stripe, its link was never recorded, and
  // Stripe has forgotten the idempotency key (another key here).
  const twinPlan = await nudgesPlan(store, { name: "Lost create" });
  const twin = await gateway.createProduct({
    nudgesPlanId: twinPlan,
    name: "Lost create",
    description: null,
    iconUrl: null,
    active: true,
  }, "nudges-an-old-forgotten-key");
  const twinClient = await nudgesClient(store);
  const twinCustomer = await gateway.createCustomer(
    { nudgesClientId: twinClient, name: "Ada", email: "ada@example.com" },
    "nudges-another-forgotten-key",
  );
  // Its twin gone: linked to a product Stripe does not have (a reset test account).
  const gonePlan = await nudgesPlan(store, { name: "Gone twin", stripeProductId: "prod_gone" });
  return {
    dashboard,
    pendingPlan,
    pendingTier,
    pendingClient,
    renamedPlan,
    twinPlan,
    twin,
    twinClient,
    twinCustomer,
    gonePlan,
  };
};

Deno.test("reconcile() repairs each kind of drift through the domain, and a second run changes nothing", async () => {
  const scene = setup();
  try {
    const seeded = await seedDrift(scene);
    const { store, stripe, deps } = scene;
    const report = await reconcile(deps, { runId: "run-1" });

    const types = report.drifts.map((d) => `${d.kind} ${d.type}`).sort();
    assert.deepEqual(types, [
      "customer missingInStripe",
      "customer unlinkedTwin",
      "price missingInNudges",
      "price missingInStripe",
      "product missingInNudges",
      "product missingInStripe",
      "product stripeNewer",
      "product twinGone",
      "product unlinkedTwin",
    ]);
    assert.deepEqual(report.drifts.filter((d) => d.outcome.status !== "repaired"), []);
    assert.equal(exitCodeOf(report), 0);

    // Imported, under the ids derived from the Stripe ids.
    const imported = (await plans.read(store, nameBasedId("plan", seeded.dashboard.product.id)))
      .state!;
    assert.equal(imported.name, "Dashboard plan");
    const importedTier = (await priceTiers.read(
      store,
      nameBasedId("priceTier", seeded.dashboard.price.id),
    )).state!;
    assert.equal(importedTier.planId, imported.id);
    // Pushed, and the tier on its plan's new product.
    const pushed = (await plans.read(store, seeded.pendingPlan)).state!;
    const pushedProduct = await stripe.products.retrieve(pushed.stripeProductId!);
    assert.equal(pushedProduct.metadata.nudges_plan_id, seeded.pendingPlan);
    const pushedTier = (await priceTiers.read(store, seeded.pendingTier)).state!;
    assert.equal(
      (await stripe.prices.retrieve(pushedTier.stripePriceId!)).product,
      pushedProduct.id,
    );
    assert.ok((await clients.read(store, seeded.pendingClient)).state!.stripeCustomerId);
    // Stripe's newer name applied.
    assert.equal((await plans.read(store, seeded.renamedPlan)).state!.name, "New name");
    // The twins linked: no second product, no second customer.
    assert.equal((await plans.read(store, seeded.twinPlan)).state!.stripeProductId, seeded.twin);
    assert.equal(
      (await clients.read(store, seeded.twinClient)).state!.stripeCustomerId,
      seeded.twinCustomer,
    );
    const products = await stripe.products.list({ limit: 100 });
    assert.equal(
      products.data.filter((p) => p.metadata.nudges_plan_id === seeded.twinPlan).length,
      1,
    );
    // The gone twin replaced by a new product.
    const regained = (await plans.read(store, seeded.gonePlan)).state!;
    assert.notEqual(regained.stripeProductId, "prod_gone");
    assert.equal((await stripe.products.retrieve(regained.stripeProductId!)).name, "Gone twin");

    // Every repair names the run.
    const repairs = (await store.readAll({ limit: 10_000 }))
      .filter((e) => e.metadata.cause.kind === "reconcile");
    assert.ok(repairs.length >= 9);
    assert.ok(repairs.every((e) => e.metadata.correlationId === "run-1"));

    const before = (await store.readAll({ limit: 10_000 })).length;
    const again = await reconcile(deps, { runId: "run-2" });
    assert.deepEqual(again.drifts, []);
    assert.equal(exitCodeOf(again), 0);
    assert.equal((await store.readAll({ limit: 10_000 })).length, before);
  } finally {
    await scene.simulator.close();
  }
});

Deno.test("reconcile() with dryRun reports the drift and writes nothing, in Nudges or in Stripe", async () => {
  const scene = setup();
  try {
    await seedDrift(scene);
    const { store, stripe, deps } = scene;
    const events = (await store.readAll({ limit: 10_000 })).length;
    const products = (await stripe.products.list({ limit: 100 })).data.length;

    const report = await reconcile(deps, { dryRun: true });
    assert.equal(report.found, 9);
    assert.ok(report.drifts.every((d) => d.outcome.status === "found"));
    assert.equal(exitCodeOf(report), 1);
    assert.equal((await store.readAll({ limit: 10_000 })).length, events);
    assert.equal((await stripe.products.list({ limit: 100 })).data.length, products);
  } finally {
    await scene.simulator.close();
  }
});

Deno.test("reconcile() with dryRun exits 0 when Nudges and Stripe are in line", async () => {
  const scene = setup();
  try {
    const product = await scene.stripe.products.create({ name: "In line" });
    await nudgesPlan(scene.store, { name: "In line", stripeProductId: product.id });
    const report = await reconcile(scene.deps, { dryRun: true });
    assert.equal(report.found, 0);
    assert.equal(exitCodeOf(report), 0);
  } finally {
    await scene.simulator.close();
  }
});

Deno.test("reconcile() leaves alone a linked twin its list lacked but Stripe has: made after the list was read", async () => {
  const scene = setup();
  try {
    const product = await scene.stripe.products.create({ name: "Made meanwhile" });
    const planId = await nudgesPlan(scene.store, {
      name: "Made meanwhile",
      stripeProductId: product.id,
    });
    // The list was read just before the product was made: it is not on it.
    const gateway = {
      ...scene.gateway,
      listPage: async (...args: Parameters<typeof scene.gateway.listPage>) => {
        const page = await scene.gateway.listPage(...args);
        return { ...page, data: page.data.filter((o) => o.id !== product.id) };
      },
    };
    const report = await reconcile(reconcileDeps(scene.store, gateway));
    assert.deepEqual(report.drifts, []);
    assert.equal((await plans.read(scene.store, planId)).state!.stripeProductId, product.id);
  } finally {
    await scene.simulator.close();
  }
});

Deno.test("repair() of a missing product that its webhook imports at the same moment applies Stripe's values to it", async () => {
  const scene = setup();
  try {
    const product = await scene.stripe.products.create({ name: "Now" });
    const planId = nameBasedId("plan", product.id);
    // The product.created webhook imports it between reconcile's read and its append.
    let raced = false;
    const store: EventStore = {
      ...scene.store,
      append: async (streamId, events, expected) => {
        if (!raced && streamId === plans.streamId(planId)) {
          raced = true;
          await plans.handle(scene.store, {
            type: "ImportStripeProduct",
            data: {
              planId,
              at: secondsFromNow(-30),
              stripeEventId: "evt_1",
              stripeEventCreated: product.updated - 30,
              stripeProductId: product.id,
              name: "Then",
              description: null,
              iconUrl: null,
              isActive: true,
            },
          }, {
            metadata: {
              correlationId: "t",
              causationId: "t",
              cause: { kind: "system", reason: "t" },
            },
          });
        }
        return await scene.store.append(streamId, events, expected);
      },
    };
    const run = runContext({ ...scene.deps, store }, "run-race");
    const outcome = await repair(run, {
      kind: "product",
      type: "missingInNudges",
      nudgesId: planId,
      stripeId: product.id,
      object: product as unknown as StripeRecord,
      stripeTime: product.updated,
    });
    assert.ok(raced);
    assert.deepEqual(outcome, { status: "repaired" });
    assert.equal((await plans.read(store, planId)).state!.name, "Now");
  } finally {
    await scene.simulator.close();
  }
});

Deno.test("reconcile() imports a subscription whose webhooks never came, then follows its cancellation", async () => {
  const { simulator, stripe, store, deps } = setup();
  try {
    const product = await stripe.products.create({ name: "Pro" });
    const planId = await nudgesPlan(store, { stripeProductId: product.id });
    const tierId = await nudgesTier(store, planId);
    const price = await stripe.prices.create({
      product: product.id,
      unit_amount: 1200,
      currency: "usd",
      recurring: { interval: "month" },
      metadata: { nudges_price_tier_id: tierId, nudges_plan_id: planId },
    });
    await priceTiers.handle(store, {
      type: "LinkStripePrice",
      data: { priceTierId: tierId, at: secondsFromNow(-60), stripePriceId: price.id },
    }, {
      metadata: { correlationId: "t", causationId: "t", cause: { kind: "system", reason: "t" } },
    });
    const clientId = await nudgesClient(store);
    // The customer pays; no webhook of it reaches Nudges (the simulator has no target).
    const session = await simulator.completeCheckout({ clientId, priceTierId: tierId });
    const stripeSubscriptionId = session.subscription as string;
    const planSubscriptionId = nameBasedId("planSubscription", stripeSubscriptionId);

    const first = await reconcile(deps);
    const imported = first.drifts.filter((d) => d.kind === "subscription");
    assert.deepEqual(imported.map((d) => `${d.type} ${d.outcome.status}`), [
      "missingInNudges repaired",
    ]);
    const active = (await planSubscriptions.read(store, planSubscriptionId)).state!;
    assert.equal(active.status, "active");
    assert.equal(active.priceTierId, tierId);
    assert.equal(active.planId, planId);
    assert.ok(active.currentPeriodEnd !== null, "the paid period comes from Stripe");

    await stripe.subscriptions.cancel(stripeSubscriptionId);
    const second = await reconcile(deps);
    const canceled = second.drifts.filter((d) => d.kind === "subscription");
    assert.deepEqual(canceled.map((d) => `${d.type} ${d.outcome.status}`), [
      "stripeNewer repaired",
    ]);
    assert.ok(canceled[0]!.fields?.includes("status"));
    assert.equal(
      (await planSubscriptions.read(store, planSubscriptionId)).state!.status,
      "canceled",
    );

    const third = await reconcile(deps);
    assert.deepEqual(third.drifts.filter((d) => d.kind === "subscription"), []);
    assert.equal(exitCodeOf(third), 0);
  } finally {
    await simulator.close();
  }
});
