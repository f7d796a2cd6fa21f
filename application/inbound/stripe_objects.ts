/**
 * The Stripe objects as the inbound consumer reads them: only the fields Nudges uses,
 * everything else passed through untouched (Stripe adds fields without notice).
 * @module
 */
import { z } from "zod";

const stripeId = z.string().min(1);
/** Stripe sends `metadata: {}` but older API versions and some events send null. */
const metadata = z.record(z.string(), z.string()).nullish().transform((m) => m ?? {});
/** An expandable reference: the id, or the object itself when the caller expanded it. */
const expandable = z.union([stripeId, z.looseObject({ id: stripeId })]).transform((v) =>
  typeof v === "string" ? v : v.id
);
const optionalExpandable = expandable.nullish().transform((v) => v ?? null);

export const StripeProduct = z.looseObject({
  id: stripeId,
  name: z.string(),
  description: z.string().nullish(),
  images: z.array(z.string()).nullish(),
  active: z.boolean(),
  metadata,
});
export type StripeProduct = z.infer<typeof StripeProduct>;

export const StripePrice = z.looseObject({
  id: stripeId,
  product: expandable,
  active: z.boolean(),
  currency: z.string(),
  nickname: z.string().nullish(),
  unit_amount: z.number().int().nullish(),
  recurring: z.looseObject({
    interval: z.enum(["day", "week", "month", "year"]),
    interval_count: z.number().int().nullish(),
  }).nullish(),
  metadata,
});
export type StripePrice = z.infer<typeof StripePrice>;

export const StripeCustomer = z.looseObject({
  id: stripeId,
  name: z.string().nullish(),
  email: z.string().nullish(),
  deleted: z.boolean().nullish(),
  metadata,
});
export type StripeCustomer = z.infer<typeof StripeCustomer>;

export const CheckoutSession = z.looseObject({
  id: stripeId,
  client_reference_id: z.string().nullish(),
  customer: optionalExpandable,
  subscription: optionalExpandable,
  amount_subtotal: z.number().int().nullish(),
  amount_total: z.number().int().nullish(),
  currency: z.string().nullish(),
  mode: z.string().nullish(),
  payment_intent: optionalExpandable,
  invoice: optionalExpandable,
  payment_status: z.enum(["paid", "unpaid", "no_payment_required"]),
  metadata,
});
export type CheckoutSession = z.infer<typeof CheckoutSession>;

const seconds = z.number().int();
const SUBSCRIPTION_STATUSES = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "unpaid",
  "canceled",
  "paused",
] as const;

export const StripeSubscription = z.looseObject({
  id: stripeId,
  customer: expandable,
  status: z.enum(SUBSCRIPTION_STATUSES),
  cancel_at_period_end: z.boolean(),
  canceled_at: seconds.nullish(),
  /** On the subscription in API versions before 2025-03-31; on its items since. */
  current_period_end: seconds.nullish(),
  items: z.looseObject({
    data: z.array(z.looseObject({
      current_period_end: seconds.nullish(),
      quantity: z.number().int().nullish(),
      price: StripePrice,
    })),
  }),
  metadata,
});
export type StripeSubscription = z.infer<typeof StripeSubscription>;

export const StripeInvoice = z.looseObject({
  id: stripeId,
  customer: optionalExpandable,
  /** Before API version 2025-03-31 (basil); parent.subscription_details since. */
  subscription: optionalExpandable,
  parent: z.looseObject({
    subscription_details: z.looseObject({ subscription: optionalExpandable }).nullish(),
  }).nullish(),
  amount_paid: z.number().int().nullish(),
  amount_due: z.number().int().nullish(),
  period_end: seconds.nullish(),
  payment_intent: optionalExpandable,
  lines: z.looseObject({
    data: z.array(z.looseObject({ period: z.looseObject({ end: seconds }).nullish() })),
  }).nullish(),
});
export type StripeInvoice = z.infer<typeof StripeInvoice>;

export const StripeCharge = z.looseObject({
  id: stripeId,
  amount_refunded: z.number().int(),
  payment_intent: optionalExpandable,
  /** Before API version 2025-03-31 (basil). */
  invoice: optionalExpandable,
});
export type StripeCharge = z.infer<typeof StripeCharge>;
