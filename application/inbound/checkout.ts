/**
 * Stripe Checkout Sessions → a payment confirmation and a plan subscription, both under
 * ids derived from the session id, so a session is recorded once whichever of its events
 * comes first. A session paid by a delayed method (bank debit) completes unpaid, with a
 * pending subscription; its async_payment_succeeded or _failed event settles it later.
 * @module
 */
import { paymentConfirmations, planSubscriptions } from "../shared/aggregates.ts";
import { nameBasedId } from "../shared/ids.ts";
import { applyOnce, type InboundContext } from "./context.ts";
import { clientOfCustomer } from "./customers.ts";
import type { CheckoutSession } from "./stripe_objects.ts";

export const applyCheckoutSession = async (
  ctx: InboundContext,
  session: CheckoutSession,
): Promise<void> => {
  const at = ctx.clock();
  const paymentConfirmationId = nameBasedId("paymentConfirmation", session.id);
  const planSubscriptionId = nameBasedId("planSubscription", session.id);
  const clientId = session.client_reference_id ??
    (session.customer === null ? null : await clientOfCustomer(ctx.store, session.customer));
  const planId = session.metadata.nudges_plan_id ?? null;
  const priceTierId = session.metadata.nudges_price_tier_id ?? null;

  // Records the payment, or changes its status when this event is newer.
  await applyOnce(
    ctx,
    paymentConfirmations,
    {
      type: "RecordCheckoutPayment",
      data: {
        paymentConfirmationId,
        at,
        stripeEventId: ctx.stripeEventId,
        stripeEventCreated: ctx.created,
        stripeCheckoutSessionId: session.id,
        clientId,
        planId,
        priceTierId,
        amountTotal: session.amount_total ?? null,
        currency: session.currency ?? null,
        paymentStatus: session.payment_status,
      },
    },
    "payment",
  );
  // Any of the session's events may come first: each carries the whole session.
  await applyOnce(ctx, planSubscriptions, {
    type: "StartPlanSubscription",
    data: {
      planSubscriptionId,
      at,
      clientId,
      planId,
      priceTierId,
      stripeSubscriptionId: session.subscription,
      stripeCustomerId: session.customer,
      paymentConfirmationId,
      status: session.payment_status === "unpaid" ? "pending" : "active",
    },
  }, "start");
  if (ctx.stripeEventType === "checkout.session.async_payment_succeeded") {
    await applyOnce(ctx, planSubscriptions, {
      type: "ActivatePlanSubscription",
      data: { planSubscriptionId, at },
    }, "activate");
  } else if (ctx.stripeEventType === "checkout.session.async_payment_failed") {
    await applyOnce(ctx, planSubscriptions, {
      type: "CancelPlanSubscription",
      data: { planSubscriptionId, at },
    }, "cancel");
  }
};
