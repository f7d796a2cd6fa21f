/**
 * What Nudges holds, read for a reconcile run: every plan, price tier, client and plan
 * subscription, folded from the store's global order, and each indexed by the Stripe id
 * it is linked to. A snapshot to compare with: every repair reads its stream again
 * through the command handler, so a change made meanwhile is never overwritten.
 * @module
 */
import type { Client } from "../../domain/client.ts";
import type { Plan } from "../../domain/plan.ts";
import type { PlanSubscription } from "../../domain/plan_subscription.ts";
import type { PriceTier } from "../../domain/price_tier.ts";
import type { EventStore } from "../ports/event_store.ts";
import { aggregateOf, DECIDERS } from "../shared/aggregates.ts";

export type NudgesSide = {
  plans: Map<string, Plan>;
  priceTiers: Map<string, PriceTier>;
  clients: Map<string, Client>;
  planSubscriptions: Map<string, PlanSubscription>;
  /** Stripe id → the id of the Nudges object linked to it. */
  linkedTo: Map<string, string>;
};

const PAGE = 2000;

type Folded = "plan" | "priceTier" | "client" | "planSubscription";
const FOLDED: ReadonlySet<string> = new Set<Folded>([
  "plan",
  "priceTier",
  "client",
  "planSubscription",
]);

export const readNudgesSide = async (
  store: EventStore,
  signal?: AbortSignal,
): Promise<NudgesSide> => {
  const states = new Map<string, { kind: Folded; state: unknown }>();
  for (let after = 0;;) {
    signal?.throwIfAborted();
    const page = await store.readAll({ after, limit: PAGE });
    for (const event of page) {
      const of = aggregateOf(event.streamId);
      if (of === null || !FOLDED.has(of.kind)) continue;
      const decider = DECIDERS[of.kind];
      const held = states.get(event.streamId);
      const state = decider.evolve(held?.state ?? decider.initialState(), event);
      states.set(event.streamId, { kind: of.kind as Folded, state });
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.position;
  }
  const side: NudgesSide = {
    plans: new Map(),
    priceTiers: new Map(),
    clients: new Map(),
    planSubscriptions: new Map(),
    linkedTo: new Map(),
  };
  const link = (stripeId: string | null, id: string) => {
    if (stripeId !== null) side.linkedTo.set(stripeId, id);
  };
  for (const { kind, state } of states.values()) {
    if (state === null) continue;
    switch (kind) {
      case "plan": {
        const plan = state as Plan;
        side.plans.set(plan.id, plan);
        link(plan.stripeProductId, plan.id);
        break;
      }
      case "priceTier": {
        const tier = state as PriceTier;
        side.priceTiers.set(tier.id, tier);
        link(tier.stripePriceId, tier.id);
        break;
      }
      case "client": {
        const client = state as Client;
        side.clients.set(client.id, client);
        link(client.stripeCustomerId, client.id);
        break;
      }
      case "planSubscription": {
        const subscription = state as PlanSubscription;
        side.planSubscriptions.set(subscription.id, subscription);
        link(subscription.stripeSubscriptionId, subscription.id);
        break;
      }
    }
  }
  return side;
};
