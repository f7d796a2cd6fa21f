import assert from "node:assert/strict";
import { nameBasedId, sequentialIds } from "../../application/clock.ts";
import { handleCommand } from "../../application/command_handler.ts";
import { load } from "../../application/inbound_once.ts";
import { clientDecider, clientStream } from "../../domain/client.ts";
import {
  paymentConfirmationDecider,
  paymentConfirmationStream,
} from "../../domain/payment_confirmation.ts";
import { planSubscriptionDecider, planSubscriptionStream } from "../../domain/plan_subscription.ts";
import { inboundPipeline } from "../support/inbound_pipeline.ts";
import { checkoutSession, NOW_SECONDS, stripeEvent } from "../support/webhook_fixtures.ts";

const EARLIER = "2026-03-01T11:00:00.000Z";
const T = NOW_SECONDS - 600;
const meta = {
  metadata: { correlationId: "c", causationId: "c", cause: { kind: "system", reason: "test" } },
  newEventId: sequentialIds("setup"),
} as const;

Deno.test("checkout.session.completed records the payment and an active subscription", async () => {
  const { store, deliver } = inboundPipeline();
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
  const paymentId = await nameBasedId("paymentConfirmation", "cs_test_paid");
  const payment = await load(
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
  const subscriptionId = await nameBasedId("planSubscription", "cs_test_paid");
  const subscription = await load(
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
  const statusOf = async (sessionId: string) =>
    (await load(
      store,
      planSubscriptionDecider,
      planSubscriptionStream(await nameBasedId("planSubscription", sessionId)),
    ))?.status;
  // The fixture session itself is unpaid.
  await deliver(stripeEvent("checkout.session.completed", checkoutSession(), { created: T }));
  const free = checkoutSession({ id: "cs_test_free", payment_status: "no_payment_required" });
  await deliver(stripeEvent("checkout.session.completed", free, { created: T }));
  assert.equal(
    await statusOf("cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY"),
    "pending",
  );
  assert.equal(await statusOf("cs_test_free"), "active");
});

Deno.test("checkout.session.completed without client_reference_id finds the client by customer", async () => {
  const { store, deliver } = inboundPipeline();
  await handleCommand(store, clientDecider, clientStream("client-7"), {
    type: "CreateClient",
    data: { clientId: "client-7", at: EARLIER, name: "Ada", email: "ada@example.com" },
  }, meta);
  await handleCommand(store, clientDecider, clientStream("client-7"), {
    type: "LinkStripeCustomer",
    data: { clientId: "client-7", at: EARLIER, stripeCustomerId: "cus_7" },
  }, meta);
  const session = checkoutSession({ id: "cs_test_7", customer: "cus_7", payment_status: "paid" });
  await deliver(stripeEvent("checkout.session.completed", session, { created: T }));
  const subscription = await load(
    store,
    planSubscriptionDecider,
    planSubscriptionStream(await nameBasedId("planSubscription", "cs_test_7")),
  );
  assert.equal(subscription?.clientId, "client-7");
  assert.equal(subscription?.stripeCustomerId, "cus_7");
});
