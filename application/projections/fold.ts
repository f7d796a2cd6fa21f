/**
 * The projections as one fold: (read view, recorded event) → changes. Each aggregate's
 * document is its decider's state, evolved by the same `evolve` the write side uses, so
 * the read side cannot disagree with what the command handler decided; `version` is the
 * revision of the event that produced it. Plans with their tiers, clients with their
 * subscriptions and payment confirmations are the documents; the joins happen on read.
 * @module
 */
import { evolve as evolveClient } from "../../domain/client.ts";
import { evolve as evolvePaymentConfirmation } from "../../domain/payment_confirmation.ts";
import { evolve as evolvePlan } from "../../domain/plan.ts";
import { evolve as evolvePlanSubscription } from "../../domain/plan_subscription.ts";
import { evolve as evolvePriceTier } from "../../domain/price_tier.ts";
import type { RecordedEvent } from "../ports/event_store.ts";
import {
  type Change,
  type Collection,
  type PlanView,
  type PriceTierView,
  type ReadView,
  type Views,
} from "../ports/read_model.ts";
import { emptyView, overlay } from "./overlay.ts";

type Projection = (view: ReadView, id: string, event: RecordedEvent) => Change | null;

const projection = <C extends Collection, E>(
  collection: C,
  evolve: (state: Views[C] | null, event: E) => Omit<Views[C], "version"> | null,
): Projection =>
(view, id, { type, data, revision }) => {
  const next = evolve(view.get(collection, id), { type, data } as E);
  if (next === null) return null;
  const doc = { ...next, version: revision } as Views[C];
  return { collection, doc } as Change;
};

// Streams are named `<category>-<id>` (domain/*Stream); other categories are not projected.
const BY_CATEGORY: Record<string, Projection> = {
  plan: projection("plans", evolvePlan),
  priceTier: projection("priceTiers", evolvePriceTier),
  client: projection("clients", evolveClient),
  planSubscription: projection("planSubscriptions", evolvePlanSubscription),
  paymentConfirmation: projection("paymentConfirmations", evolvePaymentConfirmation),
};

/** The projection of `event` over `view`: the documents it changes, [] when none. */
export const project = (view: ReadView, event: RecordedEvent): Change[] => {
  const dash = event.streamId.indexOf("-");
  const apply = dash < 0 ? undefined : BY_CATEGORY[event.streamId.slice(0, dash)];
  const change = apply?.(view, event.streamId.slice(dash + 1), event);
  return change ? [change] : [];
};

/** The plans a set of changes touches: a changed plan, or the plan of a changed tier. */
export const touchedPlanIds = (changes: readonly Change[]): string[] => [
  ...new Set(changes.flatMap((change) => {
    if (change.collection === "plans") return [change.doc.id];
    if (change.collection === "priceTiers") return [change.doc.planId];
    return [];
  })),
];

export type PlanWithTiers = PlanView & { priceTiers: PriceTierView[] };

export const planWithTiers = (view: ReadView, planId: string): PlanWithTiers | null => {
  const plan = view.get("plans", planId);
  return plan && { ...plan, priceTiers: view.list("priceTiers", planId) };
};

/**
 * Folds `events` (in global order) over `base`, in memory: the documents as the projections
 * would store them. For replays and audits; `base` defaults to no documents.
 */
export const foldEvents = (
  events: Iterable<RecordedEvent>,
  base: ReadView = emptyView,
): { view: ReadView; changes: Change[] } => {
  const state = overlay(base);
  for (const event of events) state.apply(project(state.view, event));
  return { view: state.view, changes: state.changes() };
};
