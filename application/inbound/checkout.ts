/**
 * Stripe Checkout Sessions → a payment confirmation and a plan subscription. The payment
 * confirmation's id derives from the session id; the plan subscription's from the Stripe
 * subscription id when there is one (a one-time purchase: the session id), so a checkout
 * and its subscription's own events meet on one stream whichever comes first. A session
 * paid by a delayed method (bank debit) completes unpaid, with a pending subscription;
 * its async_payment_succeeded or _failed event settles it later. What was bought comes
 * from metadata.nudges_*, else from the session's line items (bought.ts).
 * @module
 */
import { paymentConfirmations, planSubscriptions } from "../shared/aggregates.ts";
import { nameBasedId } from "../shared/ids.ts";
import { whatWasBought } from "./bought.ts";
import { applyOnce, type InboundContext } from "./context.ts";
import { clientOfCustomer } from "./customers.ts";
import { applyParkedInvoices, planSubscriptionIdOf } from "./subscriptions.ts";
import { recordPaymentOwner } from "./owners.ts";
import type { CheckoutSession } from "./stripe_objects.ts";

export const applyCheckoutSession = async (
  ctx: InboundContext,
  session: CheckoutSession,
): Promise<void> => {
  const at = ctx.clock();
  const paymentConfirmationId = nameBasedId("paymentConfirmation", session.id);
  const planSubscriptionId = session.subscription === null
    ? nameBasedId("planSubscription", session.id)
    : planSubscriptionIdOf(session.subscription);
  const clientId = session.client_reference_id ?? session.metadata.nudges_client_id ??
    (session.customer === null ? null : await clientOfCustomer(ctx.store, session.customer));
  const { planId, priceTierId, problem } = await whatWasBought(ctx, session);
  if (problem !== null) {
    ctx.logger?.warn("checkout does not add up", { sessionId: session.id, ...problem });
  }

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
        stripePaymentIntentId: session.payment_intent,
        stripeInvoiceId: session.invoice,
        problem,
      },
    },
    "payment",
  );
  // charge.refunded names the PaymentIntent (or, in older API versions, the Invoice).
  for (const paymentId of [session.payment_intent, session.invoice]) {
    if (paymentId !== null) await recordPaymentOwner(ctx, paymentId, paymentConfirmationId);
  }
  // A price Nudges does not sell grants nothing.
  if (priceTierId === null) return;
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
  if (session.subscription !== null) await applyParkedInvoices(ctx, session.subscription);
};
