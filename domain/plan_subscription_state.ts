/**
 * The PlanSubscription aggregate's commands, events and state, and how its state follows
 * from its events (evolve). What it decides is in plan_subscription.ts.
 * @module
 */
import { unreachable } from "./decider.ts";
import type { StripeChange } from "./stripe_time.ts";
/** Stripe's subscription statuses, and "pending" while a checkout payment is not settled. */
export type PlanSubscriptionStatus =
  | "pending"
  | "incomplete"
  | "incomplete_expired"
  | "trialing"
  | "active"
  | "past_due"
  | "unpaid"
  | "canceled"
  | "paused";

export type PlanSubscriptionTerms = {
  clientId: string | null;
  planId: string | null;
  priceTierId: string | null;
  /** null for a one-time purchase (a Checkout in payment mode). */
  stripeSubscriptionId: string | null;
  stripeCustomerId: string | null;
  paymentConfirmationId: string | null;
};

/** What a Stripe Subscription object says of itself. */
export type StripeSubscriptionState = {
  status: Exclude<PlanSubscriptionStatus, "pending">;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: string | null;
};

export type InvoiceOutcome = "paid" | "payment_failed";

export type PlanSubscription = PlanSubscriptionTerms & {
  id: string;
  status: PlanSubscriptionStatus;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  canceledAt: string | null;
  latestPayment: InvoiceOutcome | null;
  latestPaymentAt: string | null;
  /** The end of the period the latest invoice was for. */
  latestPaymentPeriodEnd: string | null;
  /** Nudges asked Stripe to cancel and Stripe has not confirmed it yet. */
  cancelRequested: { immediately: boolean; at: string } | null;
  /** Stripe's refusal of the latest cancel Nudges asked for. */
  cancelError: string | null;
  createdAt: string;
  updatedAt: string;
  /** Stripe's `created` of the newest subscription event applied; 0 before any. */
  lastChangedAt: number;
  /** Stripe's `created` of the newest invoice event applied; 0 before any. */
  lastPaymentChangedAt: number;
};
export type PlanSubscriptionState = PlanSubscription | null;

export type At = { planSubscriptionId: string; at: string };
export type Started = At & PlanSubscriptionTerms & { status: "active" | "pending" };
export type Imported = At & StripeChange & PlanSubscriptionTerms & StripeSubscriptionState;
export type Invoice = At & StripeChange & {
  stripeInvoiceId: string;
  amount: number | null;
  periodEnd: string | null;
};
type Canceled = At & Partial<StripeChange> & { canceledAt?: string | null };

export type PlanSubscriptionCommand =
  /** A checkout completed (any of its events): starts it, or links the checkout to it. */
  | { type: "StartPlanSubscription"; data: Started }
  /** A delayed checkout payment settled (no subscription event known yet). */
  | { type: "ActivatePlanSubscription"; data: At }
  /** A delayed checkout payment failed (no subscription event known yet). */
  | { type: "CancelPlanSubscription"; data: At }
  | { type: "ApplyStripeSubscription"; data: Imported }
  | { type: "RecordInvoice"; data: Invoice & { outcome: InvoiceOutcome } }
  | { type: "RequestPlanSubscriptionCancel"; data: At & { immediately: boolean } }
  | { type: "RecordCancelRefused"; data: At & { error: string } };

export type PlanSubscriptionEvent =
  | { type: "PlanSubscriptionStarted"; data: Started }
  | { type: "PlanSubscriptionCheckoutLinked"; data: At & PlanSubscriptionTerms }
  | { type: "PlanSubscriptionActivated"; data: At }
  | { type: "PlanSubscriptionImportedFromStripe"; data: Imported }
  | {
    type: "PlanSubscriptionStatusChanged";
    data: At & StripeChange & { status: StripeSubscriptionState["status"] };
  }
  | {
    type: "PlanSubscriptionPeriodRenewed";
    data: At & StripeChange & { currentPeriodEnd: string };
  }
  | { type: "PlanSubscriptionCancelScheduled"; data: At & StripeChange }
  | { type: "PlanSubscriptionCancelUnscheduled"; data: At & StripeChange }
  | { type: "PlanSubscriptionCanceled"; data: Canceled }
  /** A newer Stripe event that changed nothing: later-dated older events must not either. */
  | { type: "PlanSubscriptionConfirmedByStripe"; data: At & StripeChange }
  | { type: "PlanSubscriptionInvoicePaid"; data: Invoice }
  | { type: "PlanSubscriptionPaymentFailed"; data: Invoice }
  | {
    type: "PlanSubscriptionCancelRequested";
    data: At & { immediately: boolean; stripeSubscriptionId: string };
  }
  | { type: "PlanSubscriptionCancelRefused"; data: At & { error: string } };

const fromStripe = (
  state: PlanSubscription,
  data: { at: string } & StripeChange,
  fields: Partial<PlanSubscription>,
): PlanSubscription => ({
  ...state,
  ...fields,
  updatedAt: data.at,
  lastChangedAt: Math.max(state.lastChangedAt, data.stripeEventCreated),
});

const fresh = (data: At & PlanSubscriptionTerms): PlanSubscription => {
  const { planSubscriptionId, at, ...rest } = data;
  return {
    id: planSubscriptionId,
    clientId: rest.clientId,
    planId: rest.planId,
    priceTierId: rest.priceTierId,
    stripeSubscriptionId: rest.stripeSubscriptionId,
    stripeCustomerId: rest.stripeCustomerId,
    paymentConfirmationId: rest.paymentConfirmationId,
    status: "pending",
    currentPeriodEnd: null,
    cancelAtPeriodEnd: false,
    canceledAt: null,
    latestPayment: null,
    latestPaymentAt: null,
    latestPaymentPeriodEnd: null,
    cancelRequested: null,
    cancelError: null,
    createdAt: at,
    updatedAt: at,
    lastChangedAt: 0,
    lastPaymentChangedAt: 0,
  };
};

export const evolve = (
  state: PlanSubscriptionState,
  event: PlanSubscriptionEvent,
): PlanSubscriptionState => {
  switch (event.type) {
    case "PlanSubscriptionStarted":
      return { ...fresh(event.data), status: event.data.status };
    case "PlanSubscriptionImportedFromStripe": {
      const d = event.data;
      return fromStripe(fresh(d), d, {
        status: d.status,
        currentPeriodEnd: d.currentPeriodEnd,
        cancelAtPeriodEnd: d.cancelAtPeriodEnd,
        canceledAt: d.canceledAt,
      });
    }
  }
  if (state === null) return state;
  const { at } = event.data;
  switch (event.type) {
    case "PlanSubscriptionCheckoutLinked": {
      const { planSubscriptionId: _, at: __, ...terms } = event.data;
      return { ...state, ...terms, updatedAt: at };
    }
    case "PlanSubscriptionActivated":
      return { ...state, status: "active", updatedAt: at };
    case "PlanSubscriptionStatusChanged":
      return fromStripe(state, event.data, { status: event.data.status });
    case "PlanSubscriptionPeriodRenewed":
      return fromStripe(state, event.data, { currentPeriodEnd: event.data.currentPeriodEnd });
    case "PlanSubscriptionCancelScheduled":
      return fromStripe(state, event.data, { cancelAtPeriodEnd: true, cancelRequested: null });
    case "PlanSubscriptionCancelUnscheduled":
      return fromStripe(state, event.data, { cancelAtPeriodEnd: false });
    case "PlanSubscriptionCanceled": {
      const { stripeEventId, stripeEventCreated, canceledAt = null } = event.data;
      const fields = {
        status: "canceled" as const,
        canceledAt,
        cancelRequested: null,
        cancelError: null,
      };
      // Without a Stripe event: a delayed checkout payment that failed.
      return stripeEventId === undefined || stripeEventCreated === undefined
        ? { ...state, ...fields, updatedAt: at }
        : fromStripe(state, { at, stripeEventId, stripeEventCreated }, fields);
    }
    case "PlanSubscriptionConfirmedByStripe":
      return fromStripe(state, event.data, {});
    case "PlanSubscriptionInvoicePaid":
    case "PlanSubscriptionPaymentFailed":
      return {
        ...state,
        latestPayment: event.type === "PlanSubscriptionInvoicePaid" ? "paid" : "payment_failed",
        latestPaymentAt: new Date(event.data.stripeEventCreated * 1000).toISOString(),
        latestPaymentPeriodEnd: event.data.periodEnd,
        updatedAt: at,
        lastPaymentChangedAt: Math.max(state.lastPaymentChangedAt, event.data.stripeEventCreated),
      };
    case "PlanSubscriptionCancelRequested":
      return {
        ...state,
        cancelRequested: { immediately: event.data.immediately, at },
        cancelError: null,
        updatedAt: at,
      };
    case "PlanSubscriptionCancelRefused":
      return { ...state, cancelRequested: null, cancelError: event.data.error, updatedAt: at };
    default:
      return unreachable(event);
  }
};
