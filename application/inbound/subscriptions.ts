/**
 * Stripe Subscriptions → plan subscriptions: customer.subscription.created, updated,
 * deleted, paused and resumed each carry the whole subscription, applied as what Stripe
 * says of it (status, paid period, cancellation) unless a newer event was applied first.
 * A subscription Nudges does not know yet (its events came before the checkout's, or it
 * was made in the Dashboard) is imported: its client by customer, its tier by price.
 * Invoice events (invoices.ts) of a subscription not known yet wait parked until here.
 * @module
 */
import type { StripeSubscriptionState } from "../../domain/plan_subscription.ts";
import { planSubscriptions } from "../shared/aggregates.ts";
import { nameBasedId } from "../shared/ids.ts";
import { tierOfPrice } from "./bought.ts";
import { applyOnce, type InboundContext } from "./context.ts";
import { clientOfCustomer } from "./customers.ts";
import { applyInvoiceEvent } from "./invoices.ts";
import { parkedInvoices } from "./parked_invoices.ts";
import { StripeInvoice, type StripeSubscription } from "./stripe_objects.ts";

/** The plan subscription of a Stripe subscription: one id, whichever event comes first. */
export const planSubscriptionIdOf = (stripeSubscriptionId: string): string =>
  nameBasedId("planSubscription", stripeSubscriptionId);

const iso = (seconds: number | null | undefined): string | null =>
  seconds == null ? null : new Date(seconds * 1000).toISOString();

/** What the subscription says of itself; the period from its items in current API versions. */
export const stripeStateOf = (subscription: StripeSubscription): StripeSubscriptionState => {
  const itemEnds = subscription.items.data.flatMap((item) => item.current_period_end ?? []);
  const periodEnd = subscription.current_period_end ??
    (itemEnds.length === 0 ? null : Math.max(...itemEnds));
  return {
    status: subscription.status,
    currentPeriodEnd: iso(periodEnd),
    cancelAtPeriodEnd: subscription.cancel_at_period_end,
    canceledAt: iso(subscription.canceled_at),
  };
};

/** Who subscribed to what, for a subscription Nudges has not seen; null when no tier matches. */
const termsOf = async (ctx: InboundContext, subscription: StripeSubscription) => {
  let tier = null;
  for (const item of subscription.items.data) {
    tier = await tierOfPrice(ctx, item.price);
    if (tier !== null) break;
  }
  if (tier === null) return null;
  const clientId = subscription.metadata.nudges_client_id ??
    await clientOfCustomer(ctx.store, subscription.customer);
  return {
    clientId,
    planId: tier.planId,
    priceTierId: tier.id,
    stripeSubscriptionId: subscription.id,
    stripeCustomerId: subscription.customer,
    paymentConfirmationId: null,
  };
};

export const applySubscriptionEvent = async (
  ctx: InboundContext,
  subscription: StripeSubscription,
): Promise<void> => {
  const planSubscriptionId = planSubscriptionIdOf(subscription.id);
  const { state } = await planSubscriptions.read(ctx.store, planSubscriptionId);
  const terms = state ?? await termsOf(ctx, subscription);
  if (terms === null) {
    ctx.logger?.warn("Stripe subscription for a price Nudges does not sell: not imported", {
      subscriptionId: subscription.id,
    });
    return;
  }
  await applyOnce(ctx, planSubscriptions, {
    type: "ApplyStripeSubscription",
    data: {
      planSubscriptionId,
      at: ctx.clock(),
      stripeEventId: ctx.stripeEventId,
      stripeEventCreated: ctx.created,
      clientId: terms.clientId,
      planId: terms.planId,
      priceTierId: terms.priceTierId,
      stripeSubscriptionId: subscription.id,
      stripeCustomerId: subscription.customer,
      paymentConfirmationId: terms.paymentConfirmationId,
      ...stripeStateOf(subscription),
    },
  }, "subscription");
  await applyParkedInvoices(ctx, subscription.id);
};

/** Applies the invoice events parked for a subscription, once Nudges knows it. */
export const applyParkedInvoices = async (
  ctx: InboundContext,
  stripeSubscriptionId: string,
): Promise<void> => {
  const { store, clock, gateway, logger } = ctx;
  const waiting = await parkedInvoices.waiting(
    { store, clock, gateway, logger },
    stripeSubscriptionId,
  );
  if (waiting.length === 0) return;
  const known = await planSubscriptions.read(store, planSubscriptionIdOf(stripeSubscriptionId));
  if (known.state === null) return;
  for (const parked of waiting) {
    const invoice = StripeInvoice.parse((parked.event.data as { object?: unknown }).object);
    await applyInvoiceEvent(parked, invoice);
    await parkedInvoices.markApplied(parked, stripeSubscriptionId);
  }
};
