// Subscription life from Stripe's webhooks, signed, built on Stripe's own fixtures.
import assert from "node:assert/strict";
import { nameBasedId } from "../../../application/shared/ids.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { IncomingMessage } from "../../../application/ports/bus.ts";
import { planSubscriptions } from "../../../application/shared/aggregates.ts";
import { inboundPipeline, sellTier } from "../../support/inbound_pipeline.ts";
import {
  checkoutSession,
  invoice,
  NOW_SECONDS,
  product,
  stripeEvent,
  subscription,
} from "../../support/webhook_fixtures.ts";
import { shuffled } from "../../support/shuffle.ts";

type Json = Record<string, unknown>;
const T = NOW_SECONDS - 86_400;
const SUB = "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw";
const PRICE = "price_1PgafmB7WZ01zgkW6dKueIc5";
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const MONTH = 30 * 86_400;

/** The fixture subscription as Stripe says it at `created`, for tier-1's price. */
const sub = (fields: Json = {}, periodEnd = T + MONTH, priceMetadata: Json = {
  nudges_price_tier_id: "tier-1",
}): Json => {
  const object = subscription({
    status: "active",
    cancel_at_period_end: false,
    canceled_at: null,
    metadata: {},
    ...fields,
  });
  const items = object.items as { data: Json[] };
  const item = items.data[0]!;
  item.current_period_end = periodEnd;
  item.price = { ...(item.price as Json), metadata: priceMetadata };
  return object;
};

const subInvoice = (id: string, periodEnd: number, fields: Json = {}): Json => {
  const object = invoice({
    id,
    parent: {
      type: "subscription_details",
      subscription_details: { metadata: null, subscription: SUB },
    },
    ...fields,
  });
  const lines = object.lines as { data: Json[] };
  lines.data[0]!.period = { start: periodEnd - MONTH, end: periodEnd };
  return object;
};

const planSubscriptionId = nameBasedId("planSubscription", SUB);
const stateIn = async (store: EventStore) =>
  (await planSubscriptions.read(store, planSubscriptionId)).state;

const selling = async () => {
  const pipeline = inboundPipeline();
  await sellTier(pipeline.store, { stripePriceId: PRICE });
  return pipeline;
};

Deno.test("customer.subscription.created imports a subscription Nudges has not seen: client by customer, tier by price", async () => {
  const { store, deliver } = await selling();
  await deliver(stripeEvent("customer.subscription.created", sub(), { created: T }));
  const state = await stateIn(store);
  assert.deepEqual(
    state && [state.planId, state.priceTierId, state.stripeCustomerId, state.status],
    ["plan-1", "tier-1", "cus_QXg1o8vcGmoR32", "active"],
  );
  // current API versions: the period is on the items.
  assert.equal(state?.currentPeriodEnd, iso(T + MONTH));
});

Deno.test("customer.subscription.updated in an older API version reads current_period_end on the subscription", async () => {
  const { store, deliver } = await selling();
  const old = sub({ current_period_end: T + 2 * MONTH }, T + MONTH);
  delete ((old.items as { data: Json[] }).data[0]!).current_period_end;
  await deliver(stripeEvent("customer.subscription.updated", old, { created: T }));
  assert.equal((await stateIn(store))?.currentPeriodEnd, iso(T + 2 * MONTH));
});

Deno.test("a Dashboard subscription to a price Nudges has not seen imports the price first", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(stripeEvent("product.created", product(), { created: T - 10 }));
  await deliver(
    stripeEvent("customer.subscription.created", sub({}, T + MONTH, {}), { created: T }),
  );
  const state = await stateIn(store);
  assert.equal(state?.priceTierId, nameBasedId("priceTier", PRICE));
  assert.equal(state?.planId, nameBasedId("plan", "prod_QXg1hqf4jFNsqG"));
});

Deno.test("a subscription to a price Nudges does not sell makes no plan subscription", async () => {
  const { store, deliver } = inboundPipeline();
  await deliver(
    stripeEvent("customer.subscription.created", sub({}, T + MONTH, {}), { created: T }),
  );
  assert.equal(await stateIn(store), null);
});

Deno.test("status, cancel_at_period_end, paused, resumed and deleted follow Stripe; older events change nothing", async () => {
  const { store, deliver } = await selling();
  await deliver(stripeEvent("customer.subscription.created", sub(), { created: T }));
  await deliver(
    stripeEvent("customer.subscription.updated", sub({ cancel_at_period_end: true }), {
      created: T + 10,
    }),
  );
  assert.equal((await stateIn(store))?.cancelAtPeriodEnd, true);
  await deliver(
    stripeEvent("customer.subscription.paused", sub({ status: "paused" }), { created: T + 20 }),
  );
  assert.equal((await stateIn(store))?.status, "paused");
  await deliver(stripeEvent("customer.subscription.resumed", sub(), { created: T + 30 }));
  assert.equal((await stateIn(store))?.status, "active");
  // A late copy of the paused state, older than what was applied: no effect.
  await deliver(
    stripeEvent("customer.subscription.updated", sub({ status: "paused" }), { created: T + 25 }),
  );
  assert.equal((await stateIn(store))?.status, "active");
  const ended = sub({ status: "canceled", canceled_at: T + 40, cancel_at_period_end: false });
  await deliver(stripeEvent("customer.subscription.deleted", ended, { created: T + 40 }));
  const state = await stateIn(store);
  assert.deepEqual(state && [state.status, state.canceledAt], ["canceled", iso(T + 40)]);
});

Deno.test("invoice.payment_failed shows on the subscription before Stripe moves its status; invoice.paid after", async () => {
  const { store, deliver } = await selling();
  await deliver(stripeEvent("customer.subscription.created", sub(), { created: T }));
  const renewal = subInvoice("in_renewal", T + 2 * MONTH, { amount_due: 1500 });
  await deliver(stripeEvent("invoice.payment_failed", renewal, { created: T + MONTH }));
  let state = await stateIn(store);
  assert.deepEqual(
    state && [state.status, state.latestPayment, state.latestPaymentAt],
    ["active", "payment_failed", iso(T + MONTH)],
  );
  await deliver(stripeEvent("invoice.paid", renewal, { created: T + MONTH + 3600 }));
  state = await stateIn(store);
  assert.deepEqual(state && [state.latestPayment, state.latestPaymentPeriodEnd], [
    "paid",
    iso(T + 2 * MONTH),
  ]);
});

Deno.test("an invoice that comes before its subscription waits, then applies", async () => {
  const { store, deliver } = await selling();
  await deliver(stripeEvent("invoice.paid", subInvoice("in_first", T + MONTH), { created: T }));
  assert.equal(await stateIn(store), null);
  await deliver(stripeEvent("customer.subscription.created", sub(), { created: T }));
  assert.equal((await stateIn(store))?.latestPayment, "paid");
});

Deno.test("a subscription's events before its checkout's: one plan subscription, linked to the payment", async () => {
  const { store, deliver } = await selling();
  await deliver(
    stripeEvent("customer.subscription.created", sub({ status: "trialing" }), { created: T }),
  );
  const session = checkoutSession({
    id: "cs_test_sub",
    mode: "subscription",
    subscription: SUB,
    customer: "cus_QXg1o8vcGmoR32",
    client_reference_id: "client-1",
    payment_status: "no_payment_required",
    metadata: { nudges_price_tier_id: "tier-1" },
  });
  await deliver(stripeEvent("checkout.session.completed", session, { created: T + 5 }));
  const state = await stateIn(store);
  assert.deepEqual(
    state && [state.status, state.clientId, state.paymentConfirmationId],
    ["trialing", "client-1", nameBasedId("paymentConfirmation", "cs_test_sub")],
  );
});

// One subscription's whole life, in any order and with duplicates.

const LIFE = (): Json[] => [
  stripeEvent("customer.subscription.created", sub(), { created: T }),
  stripeEvent("invoice.paid", subInvoice("in_1", T + MONTH), { created: T + 1 }),
  stripeEvent("customer.subscription.updated", sub({ status: "past_due" }, T + 2 * MONTH), {
    created: T + MONTH + 10,
  }),
  stripeEvent("invoice.payment_failed", subInvoice("in_2", T + 2 * MONTH), {
    created: T + MONTH + 11,
  }),
  stripeEvent("customer.subscription.updated", sub({}, T + 2 * MONTH), {
    created: T + MONTH + 90_000,
  }),
  stripeEvent(
    "customer.subscription.deleted",
    sub({ status: "canceled", canceled_at: T + MONTH + 100_000 }, T + 2 * MONTH),
    { created: T + MONTH + 100_000 },
  ),
];

/** What Stripe said, whatever the order: the state without the times Nudges recorded it. */
const lifeEnd = async (events: readonly Json[]) => {
  const { store, post, consume } = await selling();
  const messages: IncomingMessage[] = [];
  for (const event of events) messages.push(await post(event));
  for (const message of messages) await consume(message);
  const { createdAt: _, updatedAt: __, ...state } = (await stateIn(store))!;
  return state;
};

Deno.test("one subscription's whole life ends in the same state in order, shuffled and with duplicates", async () => {
  const life = LIFE();
  const expected = await lifeEnd(life);
  assert.deepEqual(
    [expected.status, expected.latestPayment, expected.currentPeriodEnd, expected.canceledAt],
    ["canceled", "payment_failed", iso(T + 2 * MONTH), iso(T + MONTH + 100_000)],
  );
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    assert.deepEqual(await lifeEnd(shuffled(life, seed)), expected, `seed ${seed}`);
    const twice = shuffled([...life, ...shuffled(life, seed + 100).slice(0, 3)], seed);
    assert.deepEqual(await lifeEnd(twice), expected, `seed ${seed} with duplicates`);
  }
});
