/**
 * Outbound sync of price tiers: a new tier becomes a Stripe price on its plan's product
 * (waiting for that product, never making a second one); a deleted tier archives its price.
 * @module
 */
import { plans, priceTiers } from "../shared/aggregates.ts";
import type { IntegrationEventOf } from "../shared/integration_events.ts";
import { productOf } from "./plans.ts";
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

export const priceTierCreated = async (
  ctx: OutboundContext,
  event: IntegrationEventOf<"PriceTierCreatedEvent">,
) => {
  const { priceTierId, planId } = event.data;
  const loaded = await priceTiers.read(ctx.store, priceTierId);
  const tier = existing(loaded.state, `price tier ${priceTierId}`);
  if (tier.stripePriceId !== null || handledAlready(ctx, priceTiers, priceTierId, loaded)) return;
  const refused = markFailed(ctx, "priceTier", priceTierId);
  const plan = (await plans.read(ctx.store, planId)).state;
  if (plan === null) return await refused(`plan ${planId} does not exist`);
  // Waits for the plan's own message to create the product: never a second product.
  const productId = productOf(plan);
  if (productId === null) {
    return await refused(`plan ${planId} could not be created in Stripe: ${plan.syncError}`);
  }
  const priceId = await createInStripe(
    ctx,
    { kind: "prices", metadataKey: "nudges_price_tier_id", nudgesId: priceTierId },
    (key) =>
      ctx.gateway.createPrice({
        nudgesPriceTierId: priceTierId,
        nudgesPlanId: planId,
        stripeProductId: productId,
        nickname: event.data.name,
        unitAmount: event.data.unitAmount,
        currency: event.data.currency,
        interval: event.data.interval,
        intervalCount: event.data.intervalCount,
      }, key),
    refused,
  );
  if (priceId === null) return;
  await record(ctx, priceTiers, "link", {
    type: "LinkStripePrice",
    data: { priceTierId, at: ctx.clock(), stripePriceId: priceId },
  });
};

export const priceTierDeleted = async (
  ctx: OutboundContext,
  event: IntegrationEventOf<"PriceTierDeletedEvent">,
) => {
  const { priceTierId } = event.data;
  const loaded = await priceTiers.read(ctx.store, priceTierId);
  const tier = existing(loaded.state, `price tier ${priceTierId}`);
  if (handledAlready(ctx, priceTiers, priceTierId, loaded)) return;
  const priceId = tier.stripePriceId;
  if (priceId === null) {
    if (tier.syncStatus === "FAILED") return;
    throw new NotInStripeYet(`price tier ${priceTierId} has no Stripe price yet`);
  }
  await callStripe(
    ctx,
    (key) => ctx.gateway.archivePrice(priceId, key),
    markFailed(ctx, "priceTier", priceTierId),
  );
};
