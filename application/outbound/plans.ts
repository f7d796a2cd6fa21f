/**
 * Outbound sync of plans: a new plan becomes a Stripe product, linked from Stripe's answer;
 * a change or a deletion updates the product with what no later event superseded.
 * @module
 */
import type { Plan, PlanChanges, PlanFields } from "../../domain/plan.ts";
import type { RecordedEvent } from "../ports/event_store.ts";
import type { ProductChanges } from "../ports/stripe_gateway.ts";
import { PermanentFailure } from "../ports/bus.ts";
import { plans } from "../shared/aggregates.ts";
import type { IntegrationEventOf } from "../shared/integration_events.ts";
import type { PlanEvent } from "../../domain/plan.ts";
import {
  callStripe,
  createInStripe,
  existing,
  handledAlready,
  markFailed,
  NotInStripeYet,
  type OutboundContext,
  record,
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

/**
 * The plan fields that events after the causing one set again. A delayed call must not
 * send its older values for them: a newer Dashboard edit is never sent back to Stripe,
 * and the echo of the delayed call is recognised as Nudges' own, so Stripe would keep the
 * older value for good. A newer Nudges change sends its own values when its turn comes.
 */
const setAgainLater = (
  recorded: readonly RecordedEvent<PlanEvent>[],
  ctx: OutboundContext,
  planId: string,
) => {
  const cause = recorded.findIndex((e) => e.metadata.eventId === ctx.event.eventId);
  if (cause < 0) {
    throw new PermanentFailure(
      `event ${ctx.event.eventId} is not in the stream of plan ${planId}: ` +
        "it cannot be ordered against the plan's later changes",
    );
  }
  const fields = new Set<PlanField>();
  for (const event of recorded.slice(cause + 1)) {
    switch (event.type) {
      case "PlanUpdated":
      case "PlanChangedInStripe":
        for (const field of Object.keys(event.data.changes)) fields.add(field as PlanField);
        break;
      case "PlanDeleted":
        fields.add("isActive");
        break;
      case "PlanDeletedInStripe":
        // The product is gone from Stripe: nothing is left to change there.
        PLAN_FIELDS.forEach((field) => fields.add(field));
        break;
    }
  }
  return fields;
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
  const later = setAgainLater(loaded.recorded, ctx, planId);
  const fields = (Object.keys(changes) as PlanField[]).filter((field) => !later.has(field));
  if (fields.length === 0) {
    // Recording nothing keeps this idempotent: a redelivery finds the same later events.
    ctx.logger.debug("every change was superseded by a later one", { planId });
    return;
  }
  const current = Object.fromEntries(fields.map((field) => [field, changes[field]]));
  // Stripe refuses a key reused with other parameters (idempotency_error, which would mark
  // the plan FAILED), so a call that sends only part of the event's changes gets a key of
  // its own. Its values come from the event, so the field names identify its parameters.
  const whole = fields.length === Object.keys(changes).length;
  const updated = await callStripe(
    ctx,
    (key) => ctx.gateway.updateProduct(productId, productChanges(current), key),
    markFailed(ctx, "plan", planId),
    whole ? ctx.event.eventId : `${ctx.event.eventId}-${fields.sort().join("-")}`,
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
