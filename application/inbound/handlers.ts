/**
 * What the inbound consumer does with each Stripe event type. The table has exactly the
 * types of HANDLED_STRIPE_EVENT_TYPES (the compiler checks it), which the endpoint
 * records: no type is recorded that the consumer would not apply.
 * @module
 */
import { z } from "zod";
import { PermanentFailure } from "../ports/bus.ts";
import { isNudgesIdempotencyKey } from "../ports/stripe_gateway.ts";
import type { HandledStripeEventType } from "../shared/stripe_events.ts";
import { applyPriceEvent, applyProductEvent } from "./catalog.ts";
import { applyCheckoutSession } from "./checkout.ts";
import type { InboundContext } from "./context.ts";
import { applyCustomerChange, applyCustomerCreated } from "./customers.ts";
import { applyInvoiceEvent } from "./invoices.ts";
import { applyChargeRefunded } from "./refunds.ts";
import {
  CheckoutSession,
  StripeCharge,
  StripeCustomer,
  StripeInvoice,
  StripePrice,
  StripeProduct,
  StripeSubscription,
} from "./stripe_objects.ts";
import { applySubscriptionEvent } from "./subscriptions.ts";

/** Applies one Stripe event (ctx.event) through domain commands. */
export type StripeEventHandler = (ctx: InboundContext) => Promise<void>;

/** Caused by Nudges itself: Stripe echoes the idempotency key of Nudges' own call. */
const causedByNudges = (event: Record<string, unknown>): boolean => {
  const request = event.request as { idempotency_key?: unknown } | string | null | undefined;
  const key = typeof request === "object" && request !== null ? request.idempotency_key : null;
  return typeof key === "string" && isNudgesIdempotencyKey(key);
};

/** The event's data.object read with `schema`; what does not parse can never apply. */
const objectOf = <T>(schema: z.ZodType<T>, ctx: InboundContext): T => {
  const parsed = schema.safeParse((ctx.event.data as { object?: unknown } | undefined)?.object);
  if (!parsed.success) {
    throw new PermanentFailure(
      `${ctx.stripeEventType} ${ctx.stripeEventId}: unexpected data.object: ${
        z.prettifyError(parsed.error)
      }`,
    );
  }
  return parsed.data;
};

const product: StripeEventHandler = (ctx) =>
  applyProductEvent(ctx, objectOf(StripeProduct, ctx), { fromNudges: causedByNudges(ctx.event) });
const price: StripeEventHandler = (ctx) =>
  applyPriceEvent(ctx, objectOf(StripePrice, ctx), { fromNudges: causedByNudges(ctx.event) });
const checkoutSession: StripeEventHandler = (ctx) =>
  applyCheckoutSession(ctx, objectOf(CheckoutSession, ctx));
const customerCreated: StripeEventHandler = (ctx) =>
  applyCustomerCreated(ctx, objectOf(StripeCustomer, ctx));
const customerChanged: StripeEventHandler = (ctx) =>
  applyCustomerChange(ctx, objectOf(StripeCustomer, ctx), {
    fromNudges: causedByNudges(ctx.event),
  });
// Nudges' own cancel coming back is applied too: it is Stripe's confirmation, and the
// inbound side never calls Stripe about a subscription.
const subscription: StripeEventHandler = (ctx) =>
  applySubscriptionEvent(ctx, objectOf(StripeSubscription, ctx));
const invoice: StripeEventHandler = (ctx) => applyInvoiceEvent(ctx, objectOf(StripeInvoice, ctx));
const chargeRefunded: StripeEventHandler = (ctx) =>
  applyChargeRefunded(ctx, objectOf(StripeCharge, ctx));

export const STRIPE_EVENT_HANDLERS: Readonly<Record<HandledStripeEventType, StripeEventHandler>> = {
  "product.created": product,
  "product.updated": product,
  "product.deleted": product,
  "price.created": price,
  "price.updated": price,
  "price.deleted": price,
  "customer.created": customerCreated,
  "customer.updated": customerChanged,
  "customer.deleted": customerChanged,
  "customer.subscription.created": subscription,
  "customer.subscription.updated": subscription,
  "customer.subscription.deleted": subscription,
  "customer.subscription.paused": subscription,
  "customer.subscription.resumed": subscription,
  "invoice.paid": invoice,
  "invoice.payment_failed": invoice,
  "charge.refunded": chargeRefunded,
  "checkout.session.completed": checkoutSession,
  "checkout.session.async_payment_succeeded": checkoutSession,
  "checkout.session.async_payment_failed": checkoutSession,
};
