/**
 * PlanSubscription: a client's subscription to a plan. A checkout starts it (or Stripe's
 * subscription events import it, whichever comes first); from then on it follows what
 * Stripe says of its Subscription: status, paid period, a scheduled or done cancellation,
 * each invoice's outcome. Events record what Stripe said, never a guess; a Stripe event
 * older than the last one applied changes nothing (stripe_time.ts), subscription events
 * and invoice events each against their own newest. A cancel from Nudges is an intent
 * first: the outbound path asks Stripe, and Stripe's answer comes back as a webhook.
 * @module
 */
import { conflict, type Decider, invalid, notFound, unreachable } from "./decider.ts";
import { isStale } from "./stripe_time.ts";
import {
  evolve,
  type Imported,
  type PlanSubscription,
  type PlanSubscriptionCommand,
  type PlanSubscriptionEvent,
  type PlanSubscriptionState,
  type PlanSubscriptionTerms,
  type Started,
} from "./plan_subscription_state.ts";

export * from "./plan_subscription_state.ts";

const existing = (state: PlanSubscriptionState, id: string): PlanSubscription => {
  if (state === null) throw notFound("PlanSubscriptionNotFound", `no plan subscription ${id}`);
  return state;
};

/** True once a Stripe subscription event was applied: the checkout no longer sets status. */
export const followsStripe = (subscription: PlanSubscription): boolean =>
  subscription.lastChangedAt > 0;

/** The checkout's terms that fill what the subscription does not know yet. */
const checkoutLink = (subscription: PlanSubscription, data: Started) => {
  const fill = <K extends keyof PlanSubscriptionTerms>(key: K) => subscription[key] ?? data[key];
  const terms: PlanSubscriptionTerms = {
    clientId: fill("clientId"),
    planId: fill("planId"),
    priceTierId: fill("priceTierId"),
    stripeSubscriptionId: fill("stripeSubscriptionId"),
    stripeCustomerId: fill("stripeCustomerId"),
    paymentConfirmationId: fill("paymentConfirmationId"),
  };
  const same = (Object.keys(terms) as (keyof PlanSubscriptionTerms)[])
    .every((key) => terms[key] === subscription[key]);
  return same ? null : terms;
};

/** The events that bring the subscription to what a newer Stripe object says. */
const stripeChanges = (
  subscription: PlanSubscription,
  data: Imported,
): PlanSubscriptionEvent[] => {
  if (isStale(data.stripeEventCreated, subscription.lastChangedAt)) return [];
  const { planSubscriptionId, at, stripeEventId, stripeEventCreated } = data;
  const base = { planSubscriptionId, at, stripeEventId, stripeEventCreated };
  const events: PlanSubscriptionEvent[] = [];
  if (data.currentPeriodEnd !== null && data.currentPeriodEnd !== subscription.currentPeriodEnd) {
    events.push({
      type: "PlanSubscriptionPeriodRenewed",
      data: { ...base, currentPeriodEnd: data.currentPeriodEnd },
    });
  }
  if (data.cancelAtPeriodEnd !== subscription.cancelAtPeriodEnd) {
    events.push({
      type: data.cancelAtPeriodEnd
        ? "PlanSubscriptionCancelScheduled"
        : "PlanSubscriptionCancelUnscheduled",
      data: base,
    });
  }
  if (data.status === "canceled") {
    if (subscription.status !== "canceled" || subscription.canceledAt !== data.canceledAt) {
      events.push({
        type: "PlanSubscriptionCanceled",
        data: { ...base, canceledAt: data.canceledAt },
      });
    }
  } else if (data.status !== subscription.status) {
    events.push({ type: "PlanSubscriptionStatusChanged", data: { ...base, status: data.status } });
  }
  if (events.length === 0 && data.stripeEventCreated > subscription.lastChangedAt) {
    events.push({ type: "PlanSubscriptionConfirmedByStripe", data: base });
  }
  return events;
};

export const decide = (
  command: PlanSubscriptionCommand,
  state: PlanSubscriptionState,
): PlanSubscriptionEvent[] => {
  const { data } = command;
  switch (command.type) {
    case "StartPlanSubscription": {
      // Checkout events come at least once, and after the subscription's own ones or before.
      if (state === null) return [{ type: "PlanSubscriptionStarted", data: command.data }];
      const terms = checkoutLink(state, command.data);
      const { planSubscriptionId, at } = command.data;
      return terms === null
        ? []
        : [{ type: "PlanSubscriptionCheckoutLinked", data: { planSubscriptionId, at, ...terms } }];
    }
    case "ActivatePlanSubscription": {
      const subscription = existing(state, data.planSubscriptionId);
      if (subscription.status === "canceled") {
        throw conflict(
          "PlanSubscriptionCanceled",
          `plan subscription ${subscription.id} is canceled`,
        );
      }
      return subscription.status !== "pending" || followsStripe(subscription)
        ? []
        : [{ type: "PlanSubscriptionActivated", data }];
    }
    case "CancelPlanSubscription": {
      const subscription = existing(state, data.planSubscriptionId);
      return subscription.status === "canceled" || followsStripe(subscription)
        ? []
        : [{ type: "PlanSubscriptionCanceled", data }];
    }
    case "ApplyStripeSubscription":
      return state === null
        ? [{ type: "PlanSubscriptionImportedFromStripe", data: command.data }]
        : stripeChanges(state, command.data);
    case "RecordInvoice": {
      const { outcome, ...invoice } = command.data;
      const subscription = existing(state, invoice.planSubscriptionId);
      if (isStale(invoice.stripeEventCreated, subscription.lastPaymentChangedAt)) return [];
      return [{
        type: outcome === "paid" ? "PlanSubscriptionInvoicePaid" : "PlanSubscriptionPaymentFailed",
        data: invoice,
      }];
    }
    case "RequestPlanSubscriptionCancel": {
      const subscription = existing(state, command.data.planSubscriptionId);
      if (subscription.status === "canceled") {
        throw conflict(
          "PlanSubscriptionCanceled",
          `plan subscription ${subscription.id} is canceled already`,
        );
      }
      if (subscription.stripeSubscriptionId === null) {
        throw invalid(
          "PlanSubscriptionNotRecurring",
          `plan subscription ${subscription.id} is a one-time purchase: there is nothing to cancel`,
        );
      }
      const { immediately } = command.data;
      const asked = subscription.cancelRequested;
      if (asked !== null && (asked.immediately || !immediately)) return [];
      if (!immediately && subscription.cancelAtPeriodEnd) return [];
      const { stripeSubscriptionId } = subscription;
      return [{
        type: "PlanSubscriptionCancelRequested",
        data: { ...command.data, stripeSubscriptionId },
      }];
    }
    case "RecordCancelRefused": {
      const subscription = existing(state, command.data.planSubscriptionId);
      return subscription.cancelError === command.data.error
        ? []
        : [{ type: "PlanSubscriptionCancelRefused", data: command.data }];
    }
    default:
      return unreachable(command);
  }
};

export const planSubscriptionDecider: Decider<
  PlanSubscriptionCommand,
  PlanSubscriptionEvent,
  PlanSubscriptionState
> = { initialState: () => null, decide, evolve };

export const planSubscriptionStream = (id: string): string => `planSubscription-${id}`;
