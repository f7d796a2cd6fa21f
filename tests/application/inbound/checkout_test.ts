import assert from "node:assert/strict";
import { nameBasedId } from "../../../application/shared/ids.ts";
import { handleCommand } from "../../../application/shared/command_handler.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import { clientDecider, clientStream } from "../../../domain/client.ts";
import {
  paymentConfirmationDecider,
  paymentConfirmationStream,
} from "../../../domain/payment_confirmation.ts";
import {
  planSubscriptionDecider,
  planSubscriptionStream,
} from "../../../domain/plan_subscription.ts";
import {
  inboundPipeline,
  sellTier,
  setupOptions,
  stateOf,
} from "../../support/inbound_pipeline.ts";
import { checkoutSession, NOW_SECONDS, stripeEvent } from "../../support/webhook_fixtures.ts";

const EARLIER = "2026-03-01T11:00:00.000Z";
const T = NOW_SECONDS - 600;
const meta = setupOptions();

Deno.test("checkout.session.completed records the payment and an active subscription", async () => {
  const { store, deliver } = inboundPipeline();
  await sellTier(store);
  const session = checkoutSession({
    id: "cs_test_paid",
    client_reference_id: "client-1",
    customer: "cus_1",
    subscription: "sub_1",
    amount_total: 1500,
    currency: "usd",
    payment_status: "paid",
    mode: "subscription",
    metadata: { nudges_plan_id: "plan-1", nudges_price_tier_id: "tier-1" },
  });
  await deliver(stripeEvent("checkout.session.completed", session, { created: T }));
  const paymentId = nameBasedId("paymentConfirmation", "cs_test_paid");
  const payment = await stateOf(
    store,
    paymentConfirmationDecider,
    paymentConfirmationStream(paymentId),
  );
  assert.deepEqual(
    payment &&
      [
        payment.stripeCheckoutSessionId,
        payment.amountTotal,
        payment.currency,
        payment.paymentStatus,
      ],
    ["cs_test_paid", 1500, "usd", "paid"],
  );
  // One id for the checkout's subscription and the subscription's own events.
  const subscriptionId = nameBasedId("planSubscription", "sub_1");
  const subscription = await stateOf(
    store,
    planSubscriptionDecider,
    planSubscriptionStream(subscriptionId),
  );
  assert.deepEqual(
    subscription && {
      clientId: subscription.clientId,
      planId: subscription.planId,
      priceTierId: subscription.priceTierId,
      stripeSubscriptionId: subscription.stripeSubscriptionId,
      stripeCustomerId: subscription.stripeCustomerId,
      paymentConfirmationId: subscription.paymentConfirmationId,
      status: subscription.status,
    },
    {
      clientId: "client-1",
      planId: "plan-1",
      priceTierId: "tier-1",
      stripeSubscriptionId: "sub_1",
      stripeCustomerId: "cus_1",
      paymentConfirmationId: paymentId,
      status: "active",
    },
  );
});

Deno.test("checkout.session.completed unpaid gives a pending subscription, free an active one", async () => {
  const { store, deliver } = inboundPipeline();
  await sellTier(store);
  const tier = { metadata: { nudges_price_tier_id: "tier-1" } };
  const statusOf = async (sessionId: string) =>
    (await stateOf(
      store,
      planSubscriptionDecider,
      planSubscriptionStream(nameBasedId("planSubscription", sessionId)),
    ))?.status;
  // The fixture session itself is unpaid.
  await deliver(stripeEvent("checkout.session.completed", checkoutSession(tier), { created: T }));
  const free = checkoutSession({
    id: "cs_test_free",
    payment_status: "no_payment_required",
    ...tier,
  });
  await deliver(stripeEvent("checkout.session.completed", free, { created: T }));
  assert.equal(
    await statusOf("cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY"),
    "pending",
  );
  assert.equal(await statusOf("cs_test_free"), "active");
});

Deno.test("checkout.session.completed without client_reference_id finds the client by customer, before its customer.created", async () => {
  const { store, deliver } = inboundPipeline();
  await handleCommand(store, clientDecider, clientStream("client-7"), {
    type: "CreateClient",
    data: { clientId: "client-7", at: EARLIER, name: "Ada", email: "ada@example.com" },
  }, meta);
  await handleCommand(store, clientDecider, clientStream("client-7"), {
    type: "LinkStripeCustomer",
    data: { clientId: "client-7", at: EARLIER, stripeCustomerId: "cus_7" },
  }, meta);
  await sellTier(store);
  const session = checkoutSession({
    id: "cs_test_7",
    customer: "cus_7",
    payment_status: "paid",
    metadata: { nudges_price_tier_id: "tier-1" },
  });
  await deliver(stripeEvent("checkout.session.completed", session, { created: T }));
  const subscription = await stateOf(
    store,
    planSubscriptionDecider,
    planSubscriptionStream(nameBasedId("planSubscription", "cs_test_7")),
  );
  assert.equal(subscription?.clientId, "client-7");
  assert.equal(subscription?.stripeCustomerId, "cus_7");
});

/** A session paid by bank debit: it completes unpaid and is settled later. */
const delayed = (fields: Record<string, unknown> = {}) =>
  checkoutSession({
    id: "cs_test_debit",
    mode: "subscription",
    client_reference_id: "client-1",
    customer: "cus_1",
    amount_total: 1500,
    currency: "eur",
    payment_status: "unpaid",
    metadata: { nudges_plan_id: "plan-1", nudges_price_tier_id: "tier-1" },
    ...fields,
    subscription: `sub_${fields.id ?? "cs_test_debit"}`,
  });

/** A pipeline whose catalog sells tier-1 (1500 eur a month). */
const selling = async () => {
  const pipeline = inboundPipeline();
  await sellTier(pipeline.store, { currency: "eur" });
  return pipeline;
};

const settled = async (store: EventStore, sessionId: string) => {
  const payment = await stateOf(
    store,
    paymentConfirmationDecider,
    paymentConfirmationStream(nameBasedId("paymentConfirmation", sessionId)),
  );
  const subscription = await stateOf(
    store,
    planSubscriptionDecider,
    planSubscriptionStream(nameBasedId("planSubscription", `sub_${sessionId}`)),
  );
  return { payment: payment?.paymentStatus, subscription: subscription?.status };
};

Deno.test("checkout.session.async_payment_succeeded makes the payment paid and the subscription active", async () => {
  const { store, deliver } = await selling();
  await deliver(stripeEvent("checkout.session.completed", delayed(), { created: T }));
  assert.deepEqual(await settled(store, "cs_test_debit"), {
    payment: "unpaid",
    subscription: "pending",
  });
  const paid = delayed({ payment_status: "paid" });
  await deliver(stripeEvent("checkout.session.async_payment_succeeded", paid, { created: T + 60 }));
  assert.deepEqual(await settled(store, "cs_test_debit"), {
    payment: "paid",
    subscription: "active",
  });
});

Deno.test("checkout.session.async_payment_failed cancels the pending subscription", async () => {
  const { store, deliver } = await selling();
  await deliver(stripeEvent("checkout.session.completed", delayed(), { created: T }));
  await deliver(
    stripeEvent("checkout.session.async_payment_failed", delayed(), { created: T + 60 }),
  );
  assert.deepEqual(await settled(store, "cs_test_debit"), {
    payment: "unpaid",
    subscription: "canceled",
  });
});

Deno.test("an async payment result that comes before its checkout.session.completed still settles it", async () => {
  const { store, deliver } = await selling();
  const paid = delayed({ id: "cs_test_paid_first", payment_status: "paid" });
  await deliver(stripeEvent("checkout.session.async_payment_succeeded", paid, { created: T + 60 }));
  const unpaid = delayed({ id: "cs_test_paid_first" });
  await deliver(stripeEvent("checkout.session.completed", unpaid, { created: T }));
  assert.deepEqual(await settled(store, "cs_test_paid_first"), {
    payment: "paid",
    subscription: "active",
  });

  const failed = delayed({ id: "cs_test_failed_first" });
  await deliver(stripeEvent("checkout.session.async_payment_failed", failed, { created: T + 60 }));
  await deliver(stripeEvent("checkout.session.completed", failed, { created: T }));
  assert.deepEqual(await settled(store, "cs_test_failed_first"), {
    payment: "unpaid",
    subscription: "canceled",
  });
});
