/**
 * An invoice event of a subscription Nudges has not imported yet (Stripe sends the first
 * invoice.paid around the checkout, in any order) waits parked (parking.ts) in a stream
 * per Stripe subscription, until a checkout or a subscription event makes it known.
 * @module
 */
import { parkingLot } from "./parking.ts";

export const INVOICE_PARKED = "StripeInvoiceParked";
export const PARKED_INVOICE_APPLIED = "StripeParkedInvoiceApplied";

export const parkedInvoices = parkingLot({
  category: "stripeSubscriptionPending",
  keyField: "stripeSubscriptionId",
  parkedType: INVOICE_PARKED,
  appliedType: PARKED_INVOICE_APPLIED,
});

export const subscriptionPendingStream = (stripeSubscriptionId: string): string =>
  parkedInvoices.stream(stripeSubscriptionId);
