import assert from "node:assert/strict";
import { fold } from "../../domain/decider.ts";
import { clientDecider } from "../../domain/client.ts";
import { planDecider } from "../../domain/plan.ts";
import { priceTierDecider } from "../../domain/price_tier.ts";

const at = "2026-03-01T12:00:00.000Z";
const linkedPlan = fold(planDecider, [
  { type: "PlanCreated", data: { planId: "p", at, name: "Pro", description: null, iconUrl: null } },
  { type: "StripeProductLinked", data: { planId: "p", at, stripeProductId: "prod_1" } },
]);

Deno.test("decide(UnlinkStripeProduct) of the linked product makes the plan PENDING without a twin", () => {
  const events = planDecider.decide(
    { type: "UnlinkStripeProduct", data: { planId: "p", at, stripeProductId: "prod_1" } },
    linkedPlan,
  );
  assert.deepEqual(events.map((e) => e.type), ["StripeProductUnlinked"]);
  const plan = events.reduce(planDecider.evolve, linkedPlan)!;
  assert.equal(plan.stripeProductId, null);
  assert.equal(plan.syncStatus, "PENDING");
  // Linked again afterwards, to the product that replaces it.
  const relinked = planDecider.decide(
    { type: "LinkStripeProduct", data: { planId: "p", at, stripeProductId: "prod_2" } },
    plan,
  );
  assert.deepEqual(relinked.map((e) => e.type), ["StripeProductLinked"]);
});

Deno.test("decide(UnlinkStripeProduct) of a product the plan is not linked to changes nothing", () => {
  assert.deepEqual(
    planDecider.decide(
      { type: "UnlinkStripeProduct", data: { planId: "p", at, stripeProductId: "prod_other" } },
      linkedPlan,
    ),
    [],
  );
});

Deno.test("decide(UnlinkStripePrice) and decide(UnlinkStripeCustomer) forget the linked twin only", () => {
  const tier = fold(priceTierDecider, [
    {
      type: "PriceTierCreated",
      data: {
        priceTierId: "t",
        at,
        planId: "p",
        name: null,
        unitAmount: 100,
        currency: "usd",
        interval: null,
        intervalCount: null,
      },
    },
    { type: "StripePriceLinked", data: { priceTierId: "t", at, stripePriceId: "price_1" } },
  ]);
  const unlinkTier = (stripePriceId: string) =>
    priceTierDecider.decide(
      { type: "UnlinkStripePrice", data: { priceTierId: "t", at, stripePriceId } },
      tier,
    );
  assert.deepEqual(unlinkTier("price_2"), []);
  const afterTier = unlinkTier("price_1").reduce(priceTierDecider.evolve, tier)!;
  assert.deepEqual([afterTier.stripePriceId, afterTier.syncStatus], [null, "PENDING"]);

  const client = fold(clientDecider, [
    { type: "ClientCreated", data: { clientId: "c", at, name: "Ada", email: "ada@example.com" } },
    { type: "StripeCustomerLinked", data: { clientId: "c", at, stripeCustomerId: "cus_1" } },
  ]);
  const unlinkClient = (stripeCustomerId: string) =>
    clientDecider.decide(
      { type: "UnlinkStripeCustomer", data: { clientId: "c", at, stripeCustomerId } },
      client,
    );
  assert.deepEqual(unlinkClient("cus_2"), []);
  const afterClient = unlinkClient("cus_1").reduce(clientDecider.evolve, client)!;
  assert.deepEqual([afterClient.stripeCustomerId, afterClient.syncStatus], [null, "PENDING"]);
});
