/**
 * The domain's aggregates, each bound once to its stream (`<category>-<id>`), and the
 * categories that tell which decider folds a stream. Every flow writes through these.
 * @module
 */
import { clientDecider, clientStream } from "../../domain/client.ts";
import type { Decider, DomainEvent } from "../../domain/decider.ts";
import {
  paymentConfirmationDecider,
  paymentConfirmationStream,
} from "../../domain/payment_confirmation.ts";
import { planDecider, planStream } from "../../domain/plan.ts";
import { planSubscriptionDecider, planSubscriptionStream } from "../../domain/plan_subscription.ts";
import { priceTierDecider, priceTierStream } from "../../domain/price_tier.ts";
import { aggregate } from "./command_handler.ts";

export const plans = aggregate(planDecider, planStream, (command) => command.data.planId);

export const priceTiers = aggregate(
  priceTierDecider,
  priceTierStream,
  (command) => command.data.priceTierId,
);

export const clients = aggregate(clientDecider, clientStream, (command) => command.data.clientId);

export const planSubscriptions = aggregate(
  planSubscriptionDecider,
  planSubscriptionStream,
  (command) => command.data.planSubscriptionId,
);

export const paymentConfirmations = aggregate(
  paymentConfirmationDecider,
  paymentConfirmationStream,
  (command) => command.data.paymentConfirmationId,
);

/** The stream categories of the domain's aggregates. */
export type AggregateKind =
  | "plan"
  | "priceTier"
  | "client"
  | "planSubscription"
  | "paymentConfirmation";

// Folding needs only initialState and evolve; the command types differ.
// deno-lint-ignore no-explicit-any
export type AnyDecider = Decider<any, DomainEvent, unknown>;

/** The decider of each category: what replays and projections fold a stream with. */
export const DECIDERS: Record<AggregateKind, AnyDecider> = {
  plan: planDecider as AnyDecider,
  priceTier: priceTierDecider as AnyDecider,
  client: clientDecider as AnyDecider,
  planSubscription: planSubscriptionDecider as AnyDecider,
  paymentConfirmation: paymentConfirmationDecider as AnyDecider,
};

/**
 * The aggregate a stream belongs to, with its id; null for streams that no decider folds
 * (stripeEvent-…, lease-…). Categories are exact: "planSubscription-x" is no plan.
 */
export const aggregateOf = (streamId: string): { kind: AggregateKind; id: string } | null => {
  const dash = streamId.indexOf("-");
  if (dash <= 0) return null;
  const kind = streamId.slice(0, dash);
  return Object.hasOwn(DECIDERS, kind)
    ? { kind: kind as AggregateKind, id: streamId.slice(dash + 1) }
    : null;
};
