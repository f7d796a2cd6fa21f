/**
 * PlanSubscription: a client's subscription to a plan, started by a completed checkout.
 * @module
 */
import { conflict, type Decider, notFound, unreachable } from "./decider.ts";

export type PlanSubscriptionStatus = "active" | "pending" | "canceled";

export type PlanSubscriptionTerms = {
  clientId: string | null;
  planId: string | null;
  priceTierId: string | null;
  stripeSubscriptionId: string | null;
  stripeCustomerId: string | null;
  paymentConfirmationId: string | null;
};

export type PlanSubscription = PlanSubscriptionTerms & {
  id: string;
  status: PlanSubscriptionStatus;
  createdAt: string;
  updatedAt: string;
};
export type PlanSubscriptionState = PlanSubscription | null;

type At = { planSubscriptionId: string; at: string };

export type PlanSubscriptionCommand =
  | {
    type: "StartPlanSubscription";
    data: At & PlanSubscriptionTerms & { status: "active" | "pending" };
  }
  | { type: "ActivatePlanSubscription"; data: At }
  | { type: "CancelPlanSubscription"; data: At };

export type PlanSubscriptionEvent =
  | {
    type: "PlanSubscriptionStarted";
    data: At & PlanSubscriptionTerms & { status: "active" | "pending" };
  }
  | { type: "PlanSubscriptionActivated"; data: At }
  | { type: "PlanSubscriptionCanceled"; data: At };

const isCanceled = (state: PlanSubscriptionState): boolean => state?.status === "canceled";

const existing = (state: PlanSubscriptionState, id: string): PlanSubscription => {
  if (state === null) throw notFound("PlanSubscriptionNotFound", `no plan subscription ${id}`);
  return state;
};

export const decide = (
  command: PlanSubscriptionCommand,
  state: PlanSubscriptionState,
): PlanSubscriptionEvent[] => {
  const { data } = command;
  switch (command.type) {
    case "StartPlanSubscription":
      // Checkout events come at least once: starting the same subscription again is a no-op.
      return state === null ? [{ type: "PlanSubscriptionStarted", data: command.data }] : [];
    case "ActivatePlanSubscription": {
      const subscription = existing(state, data.planSubscriptionId);
      if (subscription.status === "canceled") {
        throw conflict(
          "PlanSubscriptionCanceled",
          `plan subscription ${subscription.id} is canceled`,
        );
      }
      return subscription.status === "active" ? [] : [{ type: "PlanSubscriptionActivated", data }];
    }
    case "CancelPlanSubscription":
      return isCanceled(existing(state, data.planSubscriptionId))
        ? []
        : [{ type: "PlanSubscriptionCanceled", data }];
    default:
      return unreachable(command);
  }
};

export const evolve = (
  state: PlanSubscriptionState,
  event: PlanSubscriptionEvent,
): PlanSubscriptionState => {
  switch (event.type) {
    case "PlanSubscriptionStarted": {
      const { planSubscriptionId, at, ...terms } = event.data;
      return { id: planSubscriptionId, ...terms, createdAt: at, updatedAt: at };
    }
    case "PlanSubscriptionActivated":
      return state && { ...state, status: "active", updatedAt: event.data.at };
    case "PlanSubscriptionCanceled":
      return state && { ...state, status: "canceled", updatedAt: event.data.at };
    default:
      return unreachable(event);
  }
};

export const planSubscriptionDecider: Decider<
  PlanSubscriptionCommand,
  PlanSubscriptionEvent,
  PlanSubscriptionState
> = { initialState: () => null, decide, evolve, isTerminal: isCanceled };

export const planSubscriptionStream = (id: string): string => `planSubscription-${id}`;
