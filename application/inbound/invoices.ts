/**
 * Stripe invoices → the plan subscription's latest payment: invoice.paid and
 * invoice.payment_failed, so a failed renewal shows before Stripe moves the status. An
 * invoice of a subscription Nudges does not know yet waits parked (parked_invoices.ts);
 * one that belongs to no subscription (a one-off invoice) concerns no plan.
 * @module
 */
import { planSubscriptions } from "../shared/aggregates.ts";
import { nameBasedId } from "../shared/ids.ts";
import { applyOnce, type InboundContext } from "./context.ts";
import { recordedPaymentOf, recordPaymentOwner } from "./owners.ts";
import { parkedInvoices } from "./parked_invoices.ts";
import type { StripeInvoice } from "./stripe_objects.ts";

const subscriptionOf = (invoice: StripeInvoice): string | null =>
  invoice.parent?.subscription_details?.subscription ?? invoice.subscription;

/** The end of the period the invoice bills: its lines' service periods. */
const periodEndOf = (invoice: StripeInvoice): string | null => {
  const ends = (invoice.lines?.data ?? []).flatMap((line) => line.period?.end ?? []);
  return ends.length === 0 ? null : new Date(Math.max(...ends) * 1000).toISOString();
};

export const applyInvoiceEvent = async (
  ctx: InboundContext,
  invoice: StripeInvoice,
): Promise<void> => {
  const stripeSubscriptionId = subscriptionOf(invoice);
  if (stripeSubscriptionId === null) return;
  // The checkout's first invoice: a refund of its charge names the PaymentIntent.
  const checkoutPayment = await recordedPaymentOf(ctx.store, invoice.id);
  if (checkoutPayment !== null && invoice.payment_intent !== null) {
    await recordPaymentOwner(ctx, invoice.payment_intent, checkoutPayment);
  }
  const planSubscriptionId = nameBasedId("planSubscription", stripeSubscriptionId);
  const { state } = await planSubscriptions.read(ctx.store, planSubscriptionId);
  if (state === null) {
    await parkedInvoices.park(ctx, stripeSubscriptionId);
    // Parked first, looked again second: a subscription imported meanwhile takes it.
    const again = await planSubscriptions.read(ctx.store, planSubscriptionId);
    if (again.state === null) return;
  }
  const paid = ctx.stripeEventType === "invoice.paid";
  await applyOnce(ctx, planSubscriptions, {
    type: "RecordInvoice",
    data: {
      planSubscriptionId,
      at: ctx.clock(),
      stripeEventId: ctx.stripeEventId,
      stripeEventCreated: ctx.created,
      stripeInvoiceId: invoice.id,
      outcome: paid ? "paid" : "payment_failed",
      amount: (paid ? invoice.amount_paid : invoice.amount_due) ?? null,
      periodEnd: periodEndOf(invoice),
    },
  }, "invoice");
};
