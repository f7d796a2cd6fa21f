import assert from "node:assert/strict";
import { PermanentFailure } from "../../../application/ports/bus.ts";
import { nameBasedId } from "../../../application/shared/ids.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { type Plan, planDecider, planStream } from "../../../domain/plan.ts";
import { type PriceTier, priceTierDecider, priceTierStream } from "../../../domain/price_tier.ts";
import {
  domainEvents,
  inboundPipeline,
  setupOptions,
  stateOf,
} from "../../support/inbound_pipeline.ts";
import { NOW_SECONDS, price, product, stripeEvent } from "../../support/webhook_fixtures.ts";

const EARLIER = "2026-03-01T11:00:00.000Z";
const T = NOW_SECONDS - 600;
const meta = setupOptions();

const planOf = async (store: EventStore, planId: string) =>
  await stateOf(store, planDecider, planStream(planId)) as Plan;
const tierOf = async (store: EventStore, priceTierId: string) =>
  await stateOf(store, priceTierDecider, priceTierStream(priceTierId)) as PriceTier;
const importedPlan = async (store: EventStore, productId: string) =>
  await planOf(store, nameBasedId("plan", productId));
const importedTier = async (store: EventStore, priceId: string) =>
  await tierOf(store, nameBasedId("priceTier", priceId));

/** A plan (and tier) made in Nudges, as GraphQL would make them. */
const nudgesPlan = async (store: EventStore, planId: string, name = "Pro") =>
  await handleCommand(store, planDecider, planStream(planId), {
    type: "CreatePlan",
    data: { planId, at: EARLIER, name, description: "made in Nudges", iconUrl: null },
  }, meta);
const nudgesTier = async (store: EventStore, priceTierId: string, planId: string) =>
  await handleCommand(store, priceTierDecider, priceTierStream(priceTierId), {
    type: "CreatePriceTier",
    data: {
      priceTierId,
      planId,
      at: EARLIER,
      name: "Monthly",
      unitAmount: 1500,
      currency: "usd",
      interval: "month",
      intervalCount: 1,
    },
  }, meta);

const echo = (nudgesEventId: string) => ({ idempotencyKey: `nudges-${nudgesEventId}` });

Deno.test("product.created from the Dashboard imports a plan linked to the product", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  const plan = await importedPlan(store, "prod_D1");
  assert.equal(plan.name, "T-shirt");
  assert.equal(plan.description, "Comfortable gray cotton t-shirt");
  assert.equal(plan.iconUrl, null);
  assert.equal(plan.isActive, true);
  assert.equal(plan.stripeProductId, "prod_D1");
  assert.equal(plan.syncStatus, "SYNCED");
  assert.equal(plan.deleted, false);
});

Deno.test("product.created carrying nudges_plan_id links that plan and copies nothing", async () => {
  const { store, deliver } = inboundPipeline();
  await nudgesPlan(store, "plan-1", "Pro");
  await nudgesPlan(store, "plan-2", "Team");
  const nudgesMade = product({
    id: "prod_N1",
    name: "Pro (edited)",
    metadata: { nudges_plan_id: "plan-1" },
  });
  await deliver(stripeEvent("product.created", nudgesMade, { created: T, ...echo("e-1") }));
  // The same without an idempotency key (a retried call, a script): still only a link.
  const other = product({ id: "prod_N2", name: "Team?", metadata: { nudges_plan_id: "plan-2" } });
  await deliver(stripeEvent("product.created", other, { created: T }));

  const plan1 = await planOf(store, "plan-1");
  assert.equal(plan1.stripeProductId, "prod_N1");
  assert.equal(plan1.name, "Pro");
  assert.equal(plan1.description, "made in Nudges");
  const plan2 = await planOf(store, "plan-2");
  assert.equal(plan2.stripeProductId, "prod_N2");
  assert.equal(plan2.name, "Team");
  assert.equal(await importedPlan(store, "prod_N1"), null, "no second plan");
});

Deno.test("product.updated from the Dashboard changes name, description, icon and active", async () => {
  const { store, deliver } = inboundPipeline();
  await nudgesPlan(store, "plan-1");
  const linked = { id: "prod_N1", metadata: { nudges_plan_id: "plan-1" } };
  await deliver(stripeEvent("product.created", product(linked), { created: T, ...echo("e-1") }));
  const edited = product({
    ...linked,
    name: "Pro Plus",
    description: null,
    images: ["https://files.stripe.com/links/icon.png"],
    active: false,
  });
  await deliver(stripeEvent("product.updated", edited, { created: T + 1 }));
  const plan = await planOf(store, "plan-1");
  assert.deepEqual(
    [plan.name, plan.description, plan.iconUrl, plan.isActive],
    ["Pro Plus", null, "https://files.stripe.com/links/icon.png", false],
  );
});

Deno.test("product.updated caused by Nudges itself changes nothing", async () => {
  const { store, deliver } = inboundPipeline();
  await nudgesPlan(store, "plan-1", "Pro");
  const linked = { id: "prod_N1", metadata: { nudges_plan_id: "plan-1" } };
  await deliver(stripeEvent("product.created", product(linked), { created: T, ...echo("e-1") }));
  const before = (await domainEvents(store)).length;
  // An older name coming back late must not overwrite what Nudges has now.
  const late = product({ ...linked, name: "Pro (old)" });
  await deliver(stripeEvent("product.updated", late, { created: T + 5, ...echo("e-2") }));
  assert.equal((await planOf(store, "plan-1")).name, "Pro");
  assert.equal((await domainEvents(store)).length, before);
});

Deno.test("product.deleted deletes the plan and a later product.updated does not bring it back", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  await deliver(stripeEvent("product.deleted", product({ id: "prod_D1", active: false }), {
    created: T + 10,
  }));
  await deliver(stripeEvent("product.updated", product({ id: "prod_D1", name: "Zombie" }), {
    created: T + 20,
  }));
  const plan = await importedPlan(store, "prod_D1");
  assert.equal(plan.deleted, true);
  assert.equal(plan.isActive, false);
  assert.equal(plan.name, "T-shirt");
});

Deno.test("product.deleted before its product.created leaves the plan deleted", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.deleted", product({ id: "prod_D1", active: false }), {
    created: T + 10,
  }));
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  const plan = await importedPlan(store, "prod_D1");
  assert.equal(plan.deleted, true);
});

Deno.test("an event older than the object's last change changes nothing", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  await deliver(stripeEvent("product.updated", product({ id: "prod_D1", name: "New" }), {
    created: T + 20,
  }));
  const before = (await domainEvents(store)).length;
  await deliver(stripeEvent("product.updated", product({ id: "prod_D1", name: "Old" }), {
    created: T + 10,
  }));
  assert.equal((await importedPlan(store, "prod_D1")).name, "New");
  assert.equal((await domainEvents(store)).length, before);
});

Deno.test("two changes within the same second both apply", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  await deliver(stripeEvent("product.updated", product({ id: "prod_D1", name: "First" }), {
    created: T + 1,
  }));
  await deliver(stripeEvent("product.updated", product({ id: "prod_D1", name: "Second" }), {
    created: T + 1,
  }));
  assert.equal((await importedPlan(store, "prod_D1")).name, "Second");
});

Deno.test("five deliveries of one event have one effect", async () => {
  const { store, post, consume } = inboundPipeline();
  await consume(
    await post(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T })),
  );
  const rename = stripeEvent("product.updated", product({ id: "prod_D1", name: "A" }), {
    created: T + 1,
  });
  const later = stripeEvent("product.updated", product({ id: "prod_D1", name: "B" }), {
    created: T + 1,
  });
  // Stripe retries the rename five times; the bus redelivers each message; and a newer
  // change of the same second lands in between, which a second application would undo.
  const first = await post(rename);
  await consume(first);
  await consume(await post(later));
  for (let i = 0; i < 4; i++) await consume(await post(rename));
  await consume(first);
  assert.equal((await importedPlan(store, "prod_D1")).name, "B");
  const types = (await domainEvents(store)).map((e) => e.type);
  assert.deepEqual(types, ["PlanImportedFromStripe", "PlanChangedInStripe", "PlanChangedInStripe"]);
});

Deno.test("price.created carrying nudges_price_tier_id links that tier and copies nothing", async () => {
  const { store, deliver } = inboundPipeline();
  await nudgesPlan(store, "plan-1");
  await nudgesTier(store, "tier-1", "plan-1");
  const nudgesMade = price({
    id: "price_N1",
    product: "prod_N1",
    unit_amount: 9999,
    metadata: { nudges_price_tier_id: "tier-1", nudges_plan_id: "plan-1" },
  });
  await deliver(stripeEvent("price.created", nudgesMade, { created: T, ...echo("e-3") }));
  const tier = await tierOf(store, "tier-1");
  assert.equal(tier.stripePriceId, "price_N1");
  assert.equal(tier.unitAmount, 1500);
  assert.equal(await importedTier(store, "price_N1"), null);
});

Deno.test("price.created from the Dashboard imports a tier under the imported plan", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  await deliver(stripeEvent("price.created", price({ id: "price_D1", product: "prod_D1" }), {
    created: T,
  }));
  const tier = await importedTier(store, "price_D1");
  assert.deepEqual(
    [tier.planId, tier.unitAmount, tier.currency, tier.interval, tier.intervalCount],
    [nameBasedId("plan", "prod_D1"), 2000, "usd", "month", 1],
  );
  assert.equal(tier.name, null);
  assert.equal(tier.isActive, true);
  assert.equal(tier.stripePriceId, "price_D1");
});

Deno.test("price.created from the Dashboard on a Nudges product imports under that plan", async () => {
  const { store, deliver } = inboundPipeline();
  await nudgesPlan(store, "plan-1");
  const linked = product({ id: "prod_N1", metadata: { nudges_plan_id: "plan-1" } });
  await deliver(stripeEvent("product.created", linked, { created: T, ...echo("e-1") }));
  const oneTime = price({ id: "price_D2", product: "prod_N1", recurring: null, type: "one_time" });
  await deliver(stripeEvent("price.created", oneTime, { created: T + 1 }));
  const tier = await importedTier(store, "price_D2");
  assert.equal(tier.planId, "plan-1");
  assert.equal(tier.interval, null);
  assert.equal(tier.intervalCount, null);
});

Deno.test("price.created before its product.created waits for it and then ends linked", async () => {
  const { store, post, consume } = inboundPipeline();
  const early = await post(
    stripeEvent("price.created", price({ id: "price_D1", product: "prod_D1" }), { created: T }),
  );
  // Handled, not refused: a refusal would be retried in place, ahead of the product.
  await consume(early);
  assert.deepEqual(await domainEvents(store), []);

  await consume(
    await post(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T })),
  );
  const tier = await importedTier(store, "price_D1");
  assert.equal(tier.stripePriceId, "price_D1");
  assert.equal(tier.planId, nameBasedId("plan", "prod_D1"));
});

Deno.test("price.created from the Dashboard billed every two years is imported as Stripe has it", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  const biennial = price({
    id: "price_D2",
    product: "prod_D1",
    recurring: { ...price().recurring as object, interval: "month", interval_count: 24 },
  });
  await deliver(stripeEvent("price.created", biennial, { created: T }));
  const tier = await importedTier(store, "price_D2");
  assert.deepEqual([tier.interval, tier.intervalCount], ["month", 24]);
});

Deno.test("price.updated changes the tier's active flag, nickname and amount", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product({ id: "prod_D1" }), { created: T }));
  await deliver(stripeEvent("price.created", price({ id: "price_D1", product: "prod_D1" }), {
    created: T,
  }));
  const changed = price({
    id: "price_D1",
    product: "prod_D1",
    active: false,
    nickname: "Launch offer",
    unit_amount: 2500,
  });
  await deliver(stripeEvent("price.updated", changed, { created: T + 5 }));
  const tier = await importedTier(store, "price_D1");
  assert.deepEqual([tier.isActive, tier.name, tier.unitAmount], [false, "Launch offer", 2500]);
});

Deno.test("price.deleted deletes the tier", async () => {
  const { store, deliver } = inboundPipeline();
  await nudgesPlan(store, "plan-1");
  await nudgesTier(store, "tier-1", "plan-1");
  const linked = price({
    id: "price_N1",
    product: "prod_N1",
    metadata: { nudges_price_tier_id: "tier-1" },
  });
  await deliver(stripeEvent("price.created", linked, { created: T, ...echo("e-3") }));
  await deliver(stripeEvent("price.deleted", { ...linked, active: false }, { created: T + 5 }));
  const tier = await tierOf(store, "tier-1");
  assert.equal(tier.deleted, true);
  assert.equal(tier.isActive, false);
});

Deno.test("inboundHandler() dead-letters what can never apply, and changes nothing", async () => {
  const { store, post, consume } = inboundPipeline();
  const refused = async (
    says: RegExp,
    event: Record<string, unknown>,
    value?: string,
  ) => {
    const message = await post(event);
    await assert.rejects(
      consume(value ? { ...message, value } : message),
      (error: Error) => error instanceof PermanentFailure && says.test(error.message),
    );
  };
  await refused(/is not JSON/, stripeEvent("product.created", product()), "{");
  await refused(
    /product\.updated .*unexpected data\.object/,
    stripeEvent("product.updated", { id: "prod_X", object: "product" }),
  );
  await refused(
    /names plan ghost .* no such plan/,
    stripeEvent(
      "product.created",
      product({ id: "prod_Y", metadata: { nudges_plan_id: "ghost" } }),
    ),
  );
  await refused(
    /price_T has no unit_amount/,
    stripeEvent(
      "price.created",
      price({ id: "price_T", unit_amount: null, metadata: { nudges_plan_id: "p" } }),
    ),
  );
  assert.deepEqual(await domainEvents(store), []);
});

Deno.test("a product that names a plan linked to another product is dead-lettered", async () => {
  const { store, deliver } = inboundPipeline();
  await nudgesPlan(store, "plan-1");
  const twin = product({ id: "prod_N1", metadata: { nudges_plan_id: "plan-1" } });
  await deliver(stripeEvent("product.created", twin, { created: T, ...echo("e-1") }));
  const copy = product({ id: "prod_COPY", name: "Copy", metadata: { nudges_plan_id: "plan-1" } });
  await assert.rejects(
    deliver(stripeEvent("product.updated", copy, { created: T + 1 })),
    (error: Error) => error instanceof PermanentFailure && /prod_N1/.test(error.message),
  );
  assert.equal((await planOf(store, "plan-1")).name, "Pro");
});
