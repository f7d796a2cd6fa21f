/**
 * Outbound cancellations: Nudges' intent to cancel a plan subscription becomes the Stripe
 * call (cancel_at_period_end, or cancel now), with the intent event's idempotency key.
 * Nothing is recorded on success: the webhook that comes back says what Stripe did, and
 * applying it calls nothing further. A refusal is recorded with Stripe's message.
 * @module
 */
import type { PlanSubscription } from "../../domain/plan_subscription.ts";
import { planSubscriptions } from "../shared/aggregates.ts";
import type { IntegrationEventOf } from "../shared/integration_events.ts";
import {
  callStripe,
  existing,
  handledAlready,
  type OutboundContext,
  record,
} from "./stripe_call.ts";

/** Stripe has done it already: a redelivery, or Stripe's webhook came first. */
const confirmed = (subscription: PlanSubscription, immediately: boolean): boolean =>
  subscription.status === "canceled" || (!immediately && subscription.cancelAtPeriodEnd);

export const planSubscriptionCancelRequested = async (
  ctx: OutboundContext,
  event: IntegrationEventOf<"PlanSubscriptionCancelRequestedEvent">,
) => {
  const { planSubscriptionId, stripeSubscriptionId, immediately } = event.data;
  const loaded = await planSubscriptions.read(ctx.store, planSubscriptionId);
  const subscription = existing(loaded.state, `plan subscription ${planSubscriptionId}`);
  if (
    confirmed(subscription, immediately) ||
    handledAlready(ctx, planSubscriptions, planSubscriptionId, loaded)
  ) return;
  await callStripe(
    ctx,
    (key) => ctx.gateway.cancelSubscription(stripeSubscriptionId, { immediately }, key),
    (error) =>
      record(ctx, planSubscriptions, "failed", {
        type: "RecordCancelRefused",
        data: { planSubscriptionId, at: ctx.clock(), error },
      }),
  );
};
