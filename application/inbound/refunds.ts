/**
 * Stripe charge.refunded → the refunded total on the checkout's payment confirmation,
 * found through the charge's PaymentIntent (or, in older API versions, its Invoice),
 * which the checkout recorded. A refund of a charge no checkout made (a renewal's) has
 * no payment confirmation to change.
 * @module
 */
import { paymentConfirmations } from "../shared/aggregates.ts";
import { applyOnce, type InboundContext, stripeChange } from "./context.ts";
import { recordedPaymentOf } from "./owners.ts";
import type { StripeCharge } from "./stripe_objects.ts";

export const applyChargeRefunded = async (
  ctx: InboundContext,
  charge: StripeCharge,
): Promise<void> => {
  let paymentConfirmationId: string | null = null;
  for (const paymentId of [charge.payment_intent, charge.invoice]) {
    if (paymentId === null || paymentConfirmationId !== null) continue;
    paymentConfirmationId = await recordedPaymentOf(ctx.store, paymentId);
  }
  if (paymentConfirmationId === null) {
    ctx.logger?.info("refund of a charge no checkout recorded: nothing to change", {
      chargeId: charge.id,
    });
    return;
  }
  await applyOnce(ctx, paymentConfirmations, {
    type: "RecordRefund",
    data: { paymentConfirmationId, ...stripeChange(ctx), amountRefunded: charge.amount_refunded },
  }, "refund");
};
