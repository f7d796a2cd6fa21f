/**
 * Stripe products and prices → plans and price tiers. An object that carries Nudges
 * metadata is Nudges' own twin: it is linked, never copied. One without (made in the
 * Dashboard) is imported under an id derived from its Stripe id, so however often and
 * in whatever order its events come, it is imported once.
 * @module
 */
import { PermanentFailure } from "../ports/bus.ts";
import type { EventStore } from "../ports/event_store.ts";
import { plans, priceTiers } from "../shared/aggregates.ts";
import { nameBasedId } from "../shared/ids.ts";
import { applyOnce, type InboundContext } from "./context.ts";
import { markParkedPriceApplied, parkedPrices, parkPrice } from "./parked_prices.ts";
import { StripePrice, type StripeProduct } from "./stripe_objects.ts";
import { recordedPlanOfProduct, recordProductOwner } from "./owners.ts";
import type { PlanFields } from "../../domain/plan.ts";
import { STRIPE_MAX_YEARS, validTerms } from "../../domain/price_tier.ts";

export const importedPlanId = (stripeProductId: string) => nameBasedId("plan", stripeProductId);
export const importedTierId = (stripePriceId: string) => nameBasedId("priceTier", stripePriceId);

const productFields = (product: StripeProduct): PlanFields => ({
  name: product.name,
  description: product.description ?? null,
  iconUrl: product.images?.[0] ?? null,
  isActive: product.active,
});

/** The plan that owns a Stripe product: Nudges' own twin, or the one imported from it. */
export const planOwningProduct = async (
  store: EventStore,
  stripeProductId: string,
): Promise<string | null> => {
  const recorded = await recordedPlanOfProduct(store, stripeProductId);
  if (recorded !== null) return recorded;
  const imported = importedPlanId(stripeProductId);
  return (await plans.read(store, imported)).state !== null ? imported : null;
};

/**
 * Applies the prices parked for a product once a plan owns it. Runs after every product
 * event (which may have just recorded the owner) and after every parking (a product
 * event may have recorded it in between).
 */
const applyParkedPrices = async (ctx: InboundContext, stripeProductId: string) => {
  const waiting = await parkedPrices(ctx, stripeProductId);
  if (waiting.length === 0 || await planOwningProduct(ctx.store, stripeProductId) === null) return;
  for (const parked of waiting) {
    const price = StripePrice.parse((parked.event.data as { object?: unknown }).object);
    await applyPriceEvent(parked, price, { fromNudges: false });
    await markParkedPriceApplied(parked, stripeProductId);
  }
};

export const applyProductEvent = async (
  ctx: InboundContext,
  product: StripeProduct,
  options: { fromNudges: boolean },
): Promise<void> => {
  await applyProductChange(ctx, product, options);
  await applyParkedPrices(ctx, product.id);
};

const applyProductChange = async (
  ctx: InboundContext,
  product: StripeProduct,
  { fromNudges }: { fromNudges: boolean },
): Promise<void> => {
  const linkedPlanId = product.metadata.nudges_plan_id;
  const planId = linkedPlanId ?? importedPlanId(product.id);
  const { state: plan } = await plans.read(ctx.store, planId);
  const at = ctx.clock();
  const change = { stripeEventId: ctx.stripeEventId, stripeEventCreated: ctx.created };

  if (linkedPlanId !== undefined) {
    if (plan === null) {
      throw new PermanentFailure(
        `Stripe product ${product.id} names plan ${planId} in metadata.nudges_plan_id, but there is no such plan`,
      );
    }
    if (plan.stripeProductId !== null && plan.stripeProductId !== product.id) {
      throw new PermanentFailure(
        `Stripe product ${product.id} names plan ${planId}, which is linked to ${plan.stripeProductId}`,
      );
    }
    if (ctx.stripeEventType !== "product.deleted") {
      const link = { planId, at, stripeProductId: product.id };
      await applyOnce(ctx, plans, { type: "LinkStripeProduct", data: link }, "link");
      await recordProductOwner(ctx, product.id, planId);
    }
  }
  // Nudges' own changes coming back: Nudges has them already, and a late echo must not
  // overwrite a newer Nudges change.
  if (fromNudges) return;
  if (linkedPlanId !== undefined && ctx.stripeEventType === "product.created") return;

  // Any of the product's events may come first, and each carries the whole product as it
  // was then, a deleted one too: its last state.
  if (plan === null) {
    const data = { planId, at, ...change, ...productFields(product), stripeProductId: product.id };
    await applyOnce(ctx, plans, { type: "ImportStripeProduct", data }, "import");
  } else {
    const data = { planId, at, ...change, ...productFields(product) };
    await applyOnce(ctx, plans, { type: "ApplyStripeProductChange", data }, "change");
  }
  if (ctx.stripeEventType === "product.deleted") {
    const data = { planId, at, ...change };
    await applyOnce(ctx, plans, { type: "ApplyStripeProductDeletion", data }, "delete");
  }
};

export const applyPriceEvent = async (
  ctx: InboundContext,
  price: StripePrice,
  { fromNudges }: { fromNudges: boolean },
): Promise<void> => {
  const linkedTierId = price.metadata.nudges_price_tier_id;
  const priceTierId = linkedTierId ?? importedTierId(price.id);
  const { state: tier } = await priceTiers.read(ctx.store, priceTierId);
  const at = ctx.clock();
  const change = { stripeEventId: ctx.stripeEventId, stripeEventCreated: ctx.created };

  if (linkedTierId !== undefined) {
    if (tier === null) {
      throw new PermanentFailure(
        `Stripe price ${price.id} names price tier ${priceTierId} in metadata.nudges_price_tier_id, but there is no such tier`,
      );
    }
    if (tier.stripePriceId !== null && tier.stripePriceId !== price.id) {
      throw new PermanentFailure(
        `Stripe price ${price.id} names price tier ${priceTierId}, which is linked to ${tier.stripePriceId}`,
      );
    }
    if (ctx.stripeEventType !== "price.deleted") {
      const link = { priceTierId, at, stripePriceId: price.id };
      await applyOnce(ctx, priceTiers, { type: "LinkStripePrice", data: link }, "link");
    }
  }
  if (fromNudges) return;
  if (linkedTierId !== undefined && ctx.stripeEventType === "price.created") return;

  if (tier === null) {
    const terms = {
      name: price.nickname ?? null,
      unitAmount: unitAmountOf(price),
      currency: price.currency,
      interval: price.recurring?.interval ?? null,
      intervalCount: price.recurring ? price.recurring.interval_count ?? 1 : null,
    };
    // Checked before the plan is known (the terms do not depend on it), so a price that
    // can never be imported is refused now instead of parked.
    validTerms({ ...terms, planId: "" }, { maxYears: STRIPE_MAX_YEARS });
    const planId = price.metadata.nudges_plan_id ??
      await planOwningProduct(ctx.store, price.product);
    if (planId === null) {
      await parkPrice(ctx, price.product);
      await applyParkedPrices(ctx, price.product);
      return;
    }
    const data = { priceTierId, at, ...change, ...terms, planId, stripePriceId: price.id };
    await applyOnce(ctx, priceTiers, {
      type: "ImportStripePrice",
      data: { ...data, isActive: price.active },
    }, "import");
  } else {
    const data = {
      priceTierId,
      at,
      ...change,
      isActive: price.active,
      name: price.nickname ?? null,
      ...(price.unit_amount == null ? {} : { unitAmount: price.unit_amount }),
    };
    await applyOnce(ctx, priceTiers, { type: "ApplyStripePriceChange", data }, "change");
  }
  if (ctx.stripeEventType === "price.deleted") {
    const data = { priceTierId, at, ...change };
    await applyOnce(ctx, priceTiers, { type: "ApplyStripePriceDeletion", data }, "delete");
  }
};

const unitAmountOf = (price: StripePrice): number => {
  if (price.unit_amount == null) {
    throw new PermanentFailure(
      `Stripe price ${price.id} has no unit_amount: tiered and customer-chosen prices are not imported`,
    );
  }
  return price.unit_amount;
};
