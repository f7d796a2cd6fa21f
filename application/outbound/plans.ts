/**
 * Outbound sync of plans: a new plan becomes a Stripe product, linked from Stripe's answer;
 * a change or a deletion updates the product with what no later event superseded.
 * @module
 */
import type { Plan, PlanChanges, PlanFields } from "../../domain/plan.ts";
import type { ProductChanges } from "../ports/stripe_gateway.ts";
import { plans } from "../shared/aggregates.ts";
import type { IntegrationEventOf } from "../shared/integration_events.ts";
import type { PlanEvent } from "../../domain/plan.ts";
import {
  createInStripe,
  existing,
  handledAlready,
  markFailed,
  NotInStripeYet,
  type OutboundContext,
  record,
  updateInStripe,
} from "./stripe_call.ts";

/** The plan's Stripe product; null when there will never be one to change. */
export const productOf = (plan: Plan): string | null => {
  if (plan.stripeProductId !== null) return plan.stripeProductId;
  if (plan.syncStatus === "FAILED") return null;
  throw new NotInStripeYet(`plan ${plan.id} has no Stripe product yet`);
};

export const planCreated = async (
  ctx: OutboundContext,
  event: IntegrationEventOf<"PlanCreatedEvent">,
) => {
  const { planId, name, description, iconUrl, isActive } = event.data;
  const loaded = await plans.read(ctx.store, planId);
  const plan = existing(loaded.state, `plan ${planId}`);
  // Linked already: a redelivery, or a plan imported from Stripe.
  if (plan.stripeProductId !== null || handledAlready(ctx, plans, planId, loaded)) return;
  const productId = await createInStripe(
    ctx,
    { kind: "products", metadataKey: "nudges_plan_id", nudgesId: planId },
    (key) =>
      ctx.gateway.createProduct(
        { nudgesPlanId: planId, name, description, iconUrl, active: isActive },
        key,
      ),
    markFailed(ctx, "plan", planId),
  );
  if (productId === null) return;
  await record(ctx, plans, "link", {
    type: "LinkStripeProduct",
    data: { planId, at: ctx.clock(), stripeProductId: productId },
  });
};

type PlanField = keyof PlanFields;
const PLAN_FIELDS: readonly PlanField[] = ["name", "description", "iconUrl", "isActive"];

/** The plan fields an event sets, for updateInStripe. */
const setBy = (event: PlanEvent): readonly PlanField[] => {
  switch (event.type) {
    case "PlanUpdated":
    case "PlanChangedInStripe":
      return Object.keys(event.data.changes) as PlanField[];
    case "PlanDeleted":
      return ["isActive"];
    case "PlanDeletedInStripe":
      // The product is gone from Stripe: nothing is left to change there.
      return PLAN_FIELDS;
    default:
      return [];
  }
};

const productChanges = ({ isActive, ...rest }: PlanChanges): ProductChanges => ({
  ...rest,
  ...(isActive !== undefined && { active: isActive }),
});

const changeProduct = async (ctx: OutboundContext, planId: string, changes: PlanChanges) => {
  const loaded = await plans.read(ctx.store, planId);
  const plan = existing(loaded.state, `plan ${planId}`);
  if (handledAlready(ctx, plans, planId, loaded)) return;
  const productId = productOf(plan);
  if (productId === null) {
    ctx.logger.warn("plan has no Stripe product to change", { planId, eventId: ctx.event.eventId });
    return;
  }
  const updated = await updateInStripe(
    ctx,
    { what: `plan ${planId}`, recorded: loaded.recorded, setBy },
    changes,
    (current, key) => ctx.gateway.updateProduct(productId, productChanges(current), key),
    markFailed(ctx, "plan", planId),
  );
  if (updated !== null && plan.syncStatus === "FAILED") {
    await record(ctx, plans, "restored", {
      type: "MarkPlanSynced",
      data: { planId, at: ctx.clock() },
    });
  }
};

export const planUpdated = (ctx: OutboundContext, event: IntegrationEventOf<"PlanUpdatedEvent">) =>
  changeProduct(ctx, event.data.planId, event.data.changes);

export const planDeleted = (ctx: OutboundContext, event: IntegrationEventOf<"PlanDeletedEvent">) =>
  changeProduct(ctx, event.data.planId, { isActive: false });
