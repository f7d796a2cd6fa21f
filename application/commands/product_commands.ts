/**
 * The catalog and client commands the product API runs, each through its aggregate and
 * the one command handler. Rules that span two aggregates live here: a price tier needs a
 * plan that exists and is not deleted.
 * @module
 */
import { conflict, type DomainEvent, notFound } from "../../domain/decider.ts";
import type { PlanChanges } from "../../domain/plan.ts";
import type { PriceTierTerms } from "../../domain/price_tier.ts";
import type { Clock, NewId } from "../ports/clock.ts";
import type { Cause, EventStore } from "../ports/event_store.ts";
import { clients, plans, priceTiers } from "../shared/aggregates.ts";
import type { Aggregate, CommandResult } from "../shared/command_handler.ts";

export type CommandContext = {
  store: EventStore;
  clock: Clock;
  /** Ids of new plans, tiers and clients, and of events. */
  newId: NewId;
  /** Correlates every event of one request. */
  requestId: string;
  cause: Cause;
};

/** What a command wrote: the object's id, its stream revision and the state it produced. */
export type Written<S> = { id: string } & CommandResult<unknown, S>;

const run = async <C, E extends DomainEvent, S>(
  ctx: CommandContext,
  target: Aggregate<C, E, S>,
  id: string,
  command: C,
  expectedRevision?: number,
): Promise<Written<S>> => ({
  id,
  ...await target.handle(ctx.store, command, {
    metadata: { correlationId: ctx.requestId, causationId: ctx.requestId, cause: ctx.cause },
    newEventId: ctx.newId,
    expectedRevision,
  }),
});

export const createPlan = (
  ctx: CommandContext,
  input: { name: string; description: string | null; iconUrl: string | null },
) => {
  const planId = ctx.newId();
  return run(ctx, plans, planId, {
    type: "CreatePlan",
    data: { planId, at: ctx.clock(), ...input },
  });
};

export const updatePlan = (
  ctx: CommandContext,
  { planId, expectedVersion, ...changes }: PlanChanges & {
    planId: string;
    expectedVersion?: number;
  },
) =>
  run(ctx, plans, planId, {
    type: "UpdatePlan",
    data: { planId, at: ctx.clock(), ...changes },
  }, expectedVersion);

export const deletePlan = (ctx: CommandContext, planId: string) =>
  run(ctx, plans, planId, { type: "DeletePlan", data: { planId, at: ctx.clock() } });

export const createPriceTier = async (ctx: CommandContext, terms: PriceTierTerms) => {
  const { state: plan } = await plans.read(ctx.store, terms.planId);
  if (plan === null) throw notFound("PlanNotFound", `no plan ${terms.planId}`);
  if (plan.deleted) {
    throw conflict("PlanDeleted", `plan ${terms.planId} is deleted; it takes no new price tiers`);
  }
  const priceTierId = ctx.newId();
  return run(ctx, priceTiers, priceTierId, {
    type: "CreatePriceTier",
    data: { priceTierId, at: ctx.clock(), ...terms },
  });
};

export const deletePriceTier = (ctx: CommandContext, priceTierId: string) =>
  run(ctx, priceTiers, priceTierId, {
    type: "DeletePriceTier",
    data: { priceTierId, at: ctx.clock() },
  });

export const createClient = (ctx: CommandContext, input: { name: string; email: string }) => {
  const clientId = ctx.newId();
  return run(ctx, clients, clientId, {
    type: "CreateClient",
    data: { clientId, at: ctx.clock(), ...input },
  });
};
