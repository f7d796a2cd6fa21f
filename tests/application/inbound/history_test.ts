import assert from "node:assert/strict";
import type { IncomingMessage } from "../../../application/ports/bus.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { Decider } from "../../../domain/decider.ts";
import { paymentConfirmationDecider } from "../../../domain/payment_confirmation.ts";
import { planDecider, planStream } from "../../../domain/plan.ts";
import { planSubscriptionDecider } from "../../../domain/plan_subscription.ts";
import { priceTierDecider, priceTierStream } from "../../../domain/price_tier.ts";
import {
  domainEvents,
  inboundPipeline,
  setupOptions,
  stateOf,
} from "../../support/inbound_pipeline.ts";
import {
  checkoutSession,
  NOW_SECONDS,
  price,
  product,
  stripeEvent,
} from "../../support/webhook_fixtures.ts";
import { shuffled } from "../../support/shuffle.ts";

type Json = Record<string, unknown>;

/** 50 events of a plausible Stripe account: each carries its object as it was then. */
const history = (): Json[] => {
  const events: Json[] = [];
  let t = NOW_SECONDS - 3600;
  const objects = new Map<string, Json>();
  const emit = (type: string, id: string, changes: Json = {}, idempotencyKey?: string) => {
    const object = { ...objects.get(id), ...changes };
    objects.set(id, object);
    events.push(stripeEvent(type, structuredClone(object), { created: t++, idempotencyKey }));
  };
  const newProduct = (id: string, fields: Json = {}, key?: string) =>
    emit("product.created", id, product({ id, name: `Product ${id}`, ...fields }), key);
  const newPrice = (id: string, productId: string, fields: Json = {}, key?: string) =>
    emit("price.created", id, price({ id, product: productId, ...fields }), key);

  newProduct("prod_N", { metadata: { nudges_plan_id: "plan-N" } }, "nudges-e1");
  newPrice("price_NN", "prod_N", {
    unit_amount: 1500,
    metadata: { nudges_price_tier_id: "tier-N" },
  }, "nudges-e2");
  newProduct("prod_A");
  newPrice("price_A1", "prod_A");
  newPrice("price_A2", "prod_A", { unit_amount: 20000, recurring: { interval: "year" } });
  newProduct("prod_B", { description: null });
  newPrice("price_B1", "prod_B", { recurring: null, type: "one_time" });
  newProduct("prod_C");
  newPrice("price_C1", "prod_C", { currency: "eur" });
  newPrice("price_N1", "prod_N", { nickname: "Dashboard price" });
  for (const round of [1, 2, 3]) {
    emit("product.updated", "prod_A", { name: `A v${round}`, description: `round ${round}` });
    emit("product.updated", "prod_B", {
      images: [`https://files.stripe.com/b${round}.png`],
      active: round !== 2,
    });
    emit("product.updated", "prod_C", { name: `C v${round}` });
  }
  emit("price.updated", "price_A1", { nickname: "Monthly" });
  emit("price.updated", "price_A1", { active: false });
  emit("price.updated", "price_A2", { nickname: "Yearly" });
  emit("price.updated", "price_A2", { unit_amount: 18000 });
  emit("price.updated", "price_B1", { active: false });
  emit("price.updated", "price_N1", { nickname: "Dashboard price (renamed)" });
  emit("price.updated", "price_N1", { active: false });
  emit("product.updated", "prod_N", { name: "Pro (Dashboard)" });
  emit("product.updated", "prod_N", { description: "edited in the Dashboard" });
  emit("product.updated", "prod_N", { name: "Pro (from Nudges)" }, "nudges-e3");
  emit("price.deleted", "price_B1");
  emit("price.deleted", "price_C1");
  emit("product.deleted", "prod_C", { active: false });
  emit("price.updated", "price_NN", { nickname: "Renamed in the Dashboard" });
  const checkout = (id: string, fields: Json) =>
    emit(
      "checkout.session.completed",
      id,
      checkoutSession({ id, metadata: { nudges_price_tier_id: "tier-N" }, ...fields }),
    );
  checkout("cs_1", { payment_status: "paid", client_reference_id: "client-1", amount_total: 2000 });
  checkout("cs_2", { payment_status: "unpaid", customer: "cus_2" });
  checkout("cs_3", {
    payment_status: "no_payment_required",
    metadata: { nudges_plan_id: "plan-N", nudges_price_tier_id: "tier-N" },
  });
  newProduct("prod_D", { images: ["https://files.stripe.com/d.png"] });
  newPrice("price_D1", "prod_D", { unit_amount: 500 });
  emit("product.updated", "prod_D", { name: "D v2" });
  emit("product.updated", "prod_D", { active: false });
  emit("price.updated", "price_D1", { nickname: "Cheap" });
  emit("price.updated", "price_D1", { active: false });
  emit("product.updated", "prod_A", { name: "A final" });
  emit("product.updated", "prod_A", { images: ["https://files.stripe.com/a.png"] });
  emit("price.deleted", "price_A1");
  for (const round of [4, 5, 6]) emit("product.updated", "prod_B", { name: `B v${round}` });
  emit("product.deleted", "prod_B", { active: false });
  checkout("cs_4", { payment_status: "paid", subscription: "sub_4", customer: "cus_4" });
  return events;
};

const SETUP = setupOptions();

const nudgesCatalog = async (store: EventStore) => {
  const at = "2026-03-01T10:00:00.000Z";
  await handleCommand(store, planDecider, planStream("plan-N"), {
    type: "CreatePlan",
    data: { planId: "plan-N", at, name: "Pro", description: null, iconUrl: null },
  }, SETUP);
  await handleCommand(store, priceTierDecider, priceTierStream("tier-N"), {
    type: "CreatePriceTier",
    data: {
      priceTierId: "tier-N",
      planId: "plan-N",
      at,
      name: "Monthly",
      unitAmount: 1500,
      currency: "usd",
      interval: "month",
      intervalCount: 1,
    },
  }, SETUP);
};

/**
 * Delivers in the given order, as one bus partition does: each message is handled before
 * the next, and a failure would be retried in place, ahead of everything behind it, so
 * nothing may wait on a later message.
 */
const deliverAll = async (events: readonly Json[]): Promise<EventStore> => {
  const { store, post, consume } = inboundPipeline();
  await nudgesCatalog(store);
  const messages: IncomingMessage[] = [];
  for (const event of events) messages.push(await post(event));
  for (const message of messages) await consume(message);
  return store;
};

const DECIDERS: Record<string, Decider<unknown, { type: string; data: unknown }, unknown>> = {
  plan: planDecider as never,
  priceTier: priceTierDecider as never,
  paymentConfirmation: paymentConfirmationDecider as never,
  planSubscription: planSubscriptionDecider as never,
};

/** Every domain stream's state, by stream id. */
const states = async (store: EventStore) => {
  const streams = [...new Set((await domainEvents(store)).map((e) => e.streamId))].sort();
  const out: Record<string, unknown> = {};
  for (const stream of streams) {
    out[stream] = await stateOf(store, DECIDERS[stream.split("-")[0]!]!, stream);
  }
  return out;
};

Deno.test("a 50-event history delivered shuffled ends in the same state as in order", async () => {
  const events = history();
  assert.equal(events.length, 50);
  const expected = await states(await deliverAll(events));
  // The in-order result is what the history says, not just any consistent state.
  const plans = Object.values(expected).filter((s) => (s as { name?: string }).name);
  assert.ok(plans.length >= 5);
  for (const seed of [1, 2, 3, 4, 5]) {
    const order = shuffled(events, seed);
    assert.deepEqual(await states(await deliverAll(order)), expected, `seed ${seed}`);
  }
});

Deno.test("the 50-event history in order ends where the Stripe account ended", async () => {
  const store = await deliverAll(history());
  const all = await states(store);
  const byStripeId = (key: string, id: string) =>
    Object.values(all).find((s) => (s as Record<string, unknown>)[key] === id) as
      | Record<string, unknown>
      | undefined;
  assert.deepEqual(
    pick(byStripeId("stripeProductId", "prod_A"), ["name", "description", "iconUrl", "deleted"]),
    {
      name: "A final",
      description: "round 3",
      iconUrl: "https://files.stripe.com/a.png",
      deleted: false,
    },
  );
  assert.deepEqual(pick(byStripeId("stripeProductId", "prod_B"), ["name", "deleted"]), {
    name: "B v6",
    deleted: true,
  });
  assert.deepEqual(
    pick(byStripeId("stripeProductId", "prod_N"), ["id", "name", "description"]),
    { id: "plan-N", name: "Pro (Dashboard)", description: "edited in the Dashboard" },
  );
  assert.deepEqual(
    pick(byStripeId("stripePriceId", "price_N1"), ["planId", "name", "isActive"]),
    { planId: "plan-N", name: "Dashboard price (renamed)", isActive: false },
  );
  assert.deepEqual(pick(byStripeId("stripePriceId", "price_A2"), ["unitAmount", "name"]), {
    unitAmount: 18000,
    name: "Yearly",
  });
  assert.deepEqual(pick(byStripeId("stripePriceId", "price_NN"), ["id", "name", "unitAmount"]), {
    id: "tier-N",
    name: "Renamed in the Dashboard",
    unitAmount: 1500,
  });
  assert.equal(byStripeId("stripePriceId", "price_C1")?.deleted, true);
});

const pick = (object: Record<string, unknown> | undefined, keys: string[]) =>
  object && Object.fromEntries(keys.map((k) => [k, object[k]]));
