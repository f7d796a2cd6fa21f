// A completed Stripe Checkout Session → a payment confirmation and a plan subscription,
// both under ids derived from the session id, so a session is recorded once.
import { z } from "zod";
import { nameBasedId } from "./clock.ts";
import type { EventStore } from "./event_store.ts";
import { applyOnce, type InboundContext } from "./inbound_once.ts";
import {
  paymentConfirmationDecider,
  paymentConfirmationStream,
} from "../domain/payment_confirmation.ts";
import { planSubscriptionDecider, planSubscriptionStream } from "../domain/plan_subscription.ts";

const stripeId = z.string().min(1);
const expandable = z.union([stripeId, z.looseObject({ id: stripeId })]).nullish().transform((
  v,
) => typeof v === "object" && v !== null ? v.id : v ?? null);

export const CheckoutSession = z.looseObject({
  id: stripeId,
  client_reference_id: z.string().nullish(),
  customer: expandable,
  subscription: expandable,
  amount_total: z.number().int().nullish(),
  currency: z.string().nullish(),
  payment_status: z.enum(["paid", "unpaid", "no_payment_required"]),
  metadata: z.record(z.string(), z.string()).nullish().transform((m) => m ?? {}),
});
export type CheckoutSession = z.infer<typeof CheckoutSession>;

/**
 * The client whose Stripe customer this is. Only for sessions without
 * client_reference_id (Nudges sets it on its own sessions), so a scan is affordable.
 */
const clientOfCustomer = async (
  store: EventStore,
  stripeCustomerId: string,
): Promise<string | null> => {
  let found: string | null = null;
  for (let after = 0;;) {
    const page = await store.readAll({ after, limit: 1000 });
    for (const event of page) {
      const data = event.data as { clientId?: string; stripeCustomerId?: string };
      if (event.type === "StripeCustomerLinked" && data.stripeCustomerId === stripeCustomerId) {
        found = data.clientId ?? found;
      }
    }
    if (page.length < 1000) return found;
    after = page[page.length - 1]!.position;
  }
};

export const applyCheckoutCompleted = async (
  ctx: InboundContext,
  session: CheckoutSession,
): Promise<void> => {
  const at = ctx.clock();
  const paymentConfirmationId = await nameBasedId("paymentConfirmation", session.id);
  const planSubscriptionId = await nameBasedId("planSubscription", session.id);
  const clientId = session.client_reference_id ??
    (session.customer === null ? null : await clientOfCustomer(ctx.store, session.customer));
  const planId = session.metadata.nudges_plan_id ?? null;
  const priceTierId = session.metadata.nudges_price_tier_id ?? null;

  await applyOnce(
    ctx,
    paymentConfirmationDecider,
    paymentConfirmationStream(paymentConfirmationId),
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
  await applyOnce(ctx, planSubscriptionDecider, planSubscriptionStream(planSubscriptionId), {
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
};
