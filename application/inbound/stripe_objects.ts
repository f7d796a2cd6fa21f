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

export const StripeCustomer = z.looseObject({ id: stripeId, metadata });
export type StripeCustomer = z.infer<typeof StripeCustomer>;

export const CheckoutSession = z.looseObject({
  id: stripeId,
  client_reference_id: z.string().nullish(),
  customer: optionalExpandable,
  subscription: optionalExpandable,
  amount_total: z.number().int().nullish(),
  currency: z.string().nullish(),
  payment_status: z.enum(["paid", "unpaid", "no_payment_required"]),
  metadata,
});
export type CheckoutSession = z.infer<typeof CheckoutSession>;
