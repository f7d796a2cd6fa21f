/**
 * The question a UI asks before it grants access: may this client use this plan now?
 * Yes for a subscription Stripe reports active or trialing whose paid period has not
 * ended, and for a paid one-time purchase. `now` comes from the caller's clock.
 * @module
 */
import type { PlanSubscription } from "./plan_subscription.ts";

export const grantsAccess = (subscription: PlanSubscription, now: string): boolean => {
  if (subscription.stripeSubscriptionId === null) {
    // A one-time purchase: "active" once its payment settled.
    return subscription.status === "active";
  }
  if (subscription.status !== "active" && subscription.status !== "trialing") return false;
  // Null until a subscription event reports the period (a checkout's event comes first).
  return subscription.currentPeriodEnd === null ||
    Date.parse(now) < Date.parse(subscription.currentPeriodEnd);
};

/** The plans the subscriptions give access to now, each once, in the order given. */
export const plansInUse = (subscriptions: readonly PlanSubscription[], now: string): string[] => [
  ...new Set(
    subscriptions.flatMap((s) => s.planId !== null && grantsAccess(s, now) ? [s.planId] : []),
  ),
];
