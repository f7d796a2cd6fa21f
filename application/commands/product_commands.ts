// The catalog and client commands the product API runs: each one handled by its decider
// through the command handler. Rules that span two aggregates live here: a price tier
// needs a plan that exists and is not deleted.
import { clientDecider, clientStream } from "../../domain/client.ts";
import { conflict, type Decider, notFound } from "../../domain/decider.ts";
import { type PlanChanges, planDecider, planStream } from "../../domain/plan.ts";
import { priceTierDecider, priceTierStream, type PriceTierTerms } from "../../domain/price_tier.ts";
import type { Clock, NewId } from "../ports/clock.ts";
import { type CommandResult, handleCommand, readState } from "../shared/command_handler.ts";
import type { Cause, EventStore } from "../ports/event_store.ts";

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

const run = async <C, E extends { type: string; data: unknown }, S>(
  ctx: CommandContext,
  decider: Decider<C, E, S>,
  id: string,
  streamId: string,
  command: C,
  expectedRevision?: number,
): Promise<Written<S>> => ({
  id,
  ...await handleCommand(ctx.store, decider, streamId, command, {
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
  return run(ctx, planDecider, planId, planStream(planId), {
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
  run(ctx, planDecider, planId, planStream(planId), {
    type: "UpdatePlan",
    data: { planId, at: ctx.clock(), ...changes },
  }, expectedVersion);

export const deletePlan = (ctx: CommandContext, planId: string) =>
  run(ctx, planDecider, planId, planStream(planId), {
    type: "DeletePlan",
    data: { planId, at: ctx.clock() },
  });

export const createPriceTier = async (ctx: CommandContext, terms: PriceTierTerms) => {
  const { state: plan } = await readState(ctx.store, planDecider, planStream(terms.planId));
  if (plan === null) throw notFound("PlanNotFound", `no plan ${terms.planId}`);
  if (plan.deleted) {
    throw conflict("PlanDeleted", `plan ${terms.planId} is deleted; it takes no new price tiers`);
  }
  const priceTierId = ctx.newId();
  return run(ctx, priceTierDecider, priceTierId, priceTierStream(priceTierId), {
    type: "CreatePriceTier",
    data: { priceTierId, at: ctx.clock(), ...terms },
  });
};

export const deletePriceTier = (ctx: CommandContext, priceTierId: string) =>
  run(ctx, priceTierDecider, priceTierId, priceTierStream(priceTierId), {
    type: "DeletePriceTier",
    data: { priceTierId, at: ctx.clock() },
  });

export const createClient = (ctx: CommandContext, input: { name: string; email: string }) => {
  const clientId = ctx.newId();
  return run(ctx, clientDecider, clientId, clientStream(clientId), {
    type: "CreateClient",
    data: { clientId, at: ctx.clock(), ...input },
  });
};
