/**
 * The Stripe simulator's subscriptions and invoices: a completed Checkout in subscription
 * mode makes a Subscription and its first paid Invoice; the dev routes renew a period,
 * fail a renewal or cancel, and the API routes cancel at period end (POST) or now
 * (DELETE), each sending the webhooks Stripe sends, in Stripe's shapes (the period on the
 * subscription's items, as in current API versions).
 * @module
 */
import { z } from "zod";
import { ApiError, applyParams, randomId, type StripeObject } from "./simulator_objects.ts";
import { parseParams } from "./simulator_params.ts";
import { type EventSpec, type Handler, load, type Outcome } from "./simulator_handler.ts";

type Recurring = { interval: "day" | "week" | "month" | "year"; interval_count: number };

/** The end of one billing period that starts at `start` (seconds). */
export const periodEnd = (start: number, { interval, interval_count }: Recurring): number => {
  const date = new Date(start * 1000);
  if (interval === "day") date.setUTCDate(date.getUTCDate() + interval_count);
  if (interval === "week") date.setUTCDate(date.getUTCDate() + 7 * interval_count);
  if (interval === "month") date.setUTCMonth(date.getUTCMonth() + interval_count);
  if (interval === "year") date.setUTCFullYear(date.getUTCFullYear() + interval_count);
  return Math.floor(date.getTime() / 1000);
};

type Item = { price: StripeObject; quantity: number };

const itemOf = (subscription: StripeObject) =>
  (subscription.items as { data: (Record<string, unknown> & Item)[] }).data[0]!;

export const newSubscription = (
  now: number,
  customer: string,
  { price, quantity }: Item,
  metadata: Record<string, string>,
): StripeObject => {
  const id = randomId("sub_", 24);
  const end = periodEnd(now, price.recurring as Recurring);
  return {
    id,
    object: "subscription",
    billing_cycle_anchor: now,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    collection_method: "charge_automatically",
    created: now,
    currency: price.currency,
    customer,
    ended_at: null,
    items: {
      object: "list",
      data: [{
        id: randomId("si_", 14),
        object: "subscription_item",
        created: now,
        current_period_start: now,
        current_period_end: end,
        metadata: {},
        price,
        quantity,
        subscription: id,
      }],
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: null,
    livemode: false,
    metadata,
    start_date: now,
    status: "active",
    trial_end: null,
    trial_start: null,
  };
};

/** The invoice of the subscription's current period: paid, or open after a failed charge. */
export const newInvoice = (
  now: number,
  subscription: StripeObject,
  { paid, reason }: { paid: boolean; reason: string },
): StripeObject => {
  const item = itemOf(subscription);
  const amount = Number(item.price.unit_amount) * item.quantity;
  const id = randomId("in_", 24);
  return {
    id,
    object: "invoice",
    amount_due: amount,
    amount_paid: paid ? amount : 0,
    amount_remaining: paid ? 0 : amount,
    attempt_count: 1,
    attempted: true,
    billing_reason: reason,
    collection_method: "charge_automatically",
    created: now,
    currency: subscription.currency,
    customer: subscription.customer,
    lines: {
      object: "list",
      data: [{
        id: randomId("il_", 24),
        object: "line_item",
        amount,
        currency: subscription.currency,
        invoice: id,
        period: { start: item.current_period_start, end: item.current_period_end },
        quantity: item.quantity,
        pricing: { type: "price_details", price_details: { price: item.price.id } },
      }],
      has_more: false,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: {},
    parent: {
      type: "subscription_details",
      subscription_details: { metadata: subscription.metadata, subscription: subscription.id },
    },
    period_end: now,
    period_start: now,
    status: paid ? "paid" : "open",
  };
};

const changed = (before: StripeObject, after: StripeObject): Record<string, unknown> =>
  Object.fromEntries(
    Object.keys(after).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
      .map((k) => [k, before[k]]),
  );

const subscriptionUpdated = (before: StripeObject, after: StripeObject): EventSpec => ({
  type: "customer.subscription.updated",
  object: after,
  previous: changed(before, after),
  automatic: true,
});

const writes = (...objects: StripeObject[]) =>
  objects.map((o) => ({ kind: o.object as "subscription" | "invoice", id: o.id, value: o }));

/** Dev: the next period is paid (invoice.paid, then the subscription's new period). */
export const renewSubscription: Handler = (ctx) => {
  const before = load(ctx, "subscription");
  if (before.status === "canceled") throw new ApiError(400, "This subscription is canceled.");
  const after = structuredClone(before);
  const item = itemOf(after);
  const start = Number(item.current_period_end);
  Object.assign(item, {
    current_period_start: start,
    current_period_end: periodEnd(start, item.price.recurring as Recurring),
  });
  const invoice = newInvoice(ctx.now, after, { paid: true, reason: "subscription_cycle" });
  Object.assign(after, { status: "active", latest_invoice: invoice.id });
  return {
    body: after,
    changes: writes(after, invoice),
    events: [
      { type: "invoice.paid", object: invoice, automatic: true },
      subscriptionUpdated(before, after),
    ],
  };
};

/** Dev: the renewal's charge fails (invoice.payment_failed, then the subscription past_due). */
export const failRenewal: Handler = (ctx) => {
  const before = load(ctx, "subscription");
  if (before.status === "canceled") throw new ApiError(400, "This subscription is canceled.");
  const after = structuredClone(before);
  const invoice = newInvoice(ctx.now, after, { paid: false, reason: "subscription_cycle" });
  Object.assign(after, { status: "past_due", latest_invoice: invoice.id });
  return {
    body: after,
    changes: writes(after, invoice),
    events: [
      { type: "invoice.payment_failed", object: invoice, automatic: true },
      subscriptionUpdated(before, after),
    ],
  };
};

const canceled = (
  ctx: { now: number },
  subscription: StripeObject,
  automatic: boolean,
): Outcome => {
  if (subscription.status === "canceled") {
    throw new ApiError(400, `No such subscription: '${subscription.id}'`, {
      code: "resource_missing",
    });
  }
  const after = { ...structuredClone(subscription), status: "canceled" };
  Object.assign(after, { canceled_at: ctx.now, ended_at: ctx.now });
  return {
    body: after,
    changes: writes(after),
    events: [{ type: "customer.subscription.deleted", object: after, automatic }],
  };
};

/** DELETE /v1/subscriptions/:id: cancels now. */
export const cancelSubscription: Handler = (ctx) => canceled(ctx, load(ctx, "subscription"), false);

/** Dev: the customer cancels (in the customer portal, say): it ends now. */
export const devCancelSubscription: Handler = (ctx) =>
  canceled(ctx, load(ctx, "subscription"), true);

const updateParams = z.strictObject({
  cancel_at_period_end: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  expand: z.array(z.string()).optional(),
});

/** POST /v1/subscriptions/:id: cancel_at_period_end and metadata. */
export const updateSubscription: Handler = (ctx) => {
  const params = parseParams(updateParams, ctx.params);
  const before = load(ctx, "subscription");
  if (before.status === "canceled") {
    throw new ApiError(
      400,
      "A canceled subscription can only update its cancellation_details and metadata.",
    );
  }
  const after = structuredClone(before);
  if (Object.keys(applyParams(after, params)).length === 0) return { body: after };
  after.cancel_at = after.cancel_at_period_end ? itemOf(after).current_period_end : null;
  return {
    body: after,
    changes: writes(after),
    events: [{ ...subscriptionUpdated(before, after), automatic: false }],
  };
};
