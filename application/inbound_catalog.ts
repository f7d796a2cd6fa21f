// Stripe products and prices → plans and price tiers. An object that carries Nudges
// metadata is Nudges' own twin: it is linked, never copied. One without (made in the
// Dashboard) is imported under an id derived from its Stripe id, so however often and
// in whatever order its events come, it is imported once.
import { z } from "zod";
import { PermanentFailure } from "./bus.ts";
import { nameBasedId } from "./clock.ts";
import type { EventStore } from "./event_store.ts";
import { applyOnce, type InboundContext, load, NotYetApplicable } from "./inbound_once.ts";
import type { Decider } from "../domain/decider.ts";
import { planDecider, type PlanFields, planStream } from "../domain/plan.ts";
import { priceTierDecider, priceTierStream, validTerms } from "../domain/price_tier.ts";

const metadata = z.record(z.string(), z.string()).nullish().transform((m) => m ?? {});
const stripeId = z.string().min(1);
const expandable = z.union([stripeId, z.looseObject({ id: stripeId })]).transform((v) =>
  typeof v === "string" ? v : v.id
);

export const StripeProduct = z.looseObject({
  id: stripeId,
  name: z.string(),
  description: z.string().nullish(),
  images: z.array(z.string()).nullish(),
  active: z.boolean(),
  metadata,
});
export type StripeProduct = z.infer<typeof StripeProduct>;

export const StripePrice = z.looseObject({
  id: stripeId,
  product: expandable,
  active: z.boolean(),
  currency: z.string(),
  nickname: z.string().nullish(),
  unit_amount: z.number().int().nullish(),
  recurring: z.looseObject({
    interval: z.enum(["day", "week", "month", "year"]),
    interval_count: z.number().int().nullish(),
  }).nullish(),
  metadata,
});
export type StripePrice = z.infer<typeof StripePrice>;

// Which plan owns a product Nudges made: its metadata says so, but a price event names
// only the product's id, so the link is also kept in a stream of its own.
export const PRODUCT_OWNER_RECORDED = "StripeProductOwnerRecorded";
export const productOwnerStream = (stripeProductId: string): string =>
  `stripeProductOwner-${stripeProductId}`;

const importedPlanId = (stripeProductId: string) => nameBasedId("plan", stripeProductId);
const importedTierId = (stripePriceId: string) => nameBasedId("priceTier", stripePriceId);

const productFields = (product: StripeProduct): PlanFields => ({
  name: product.name,
  description: product.description ?? null,
  iconUrl: product.images?.[0] ?? null,
  isActive: product.active,
});

const recordProductOwner = async (ctx: InboundContext, stripeProductId: string, planId: string) => {
  const stream = productOwnerStream(stripeProductId);
  if ((await ctx.store.readStream(stream)).length > 0) return;
  await applyOnce(ctx, ownerDecider, stream, { stripeProductId, planId }, "owner");
};

// The owner stream's decider: the first owner recorded stays.
type Owner = { stripeProductId: string; planId: string };
type OwnerRecorded = { type: typeof PRODUCT_OWNER_RECORDED; data: Owner };
const ownerDecider: Decider<Owner, OwnerRecorded, Owner | null> = {
  initialState: null,
  decide: (command, state) =>
    state === null ? [{ type: PRODUCT_OWNER_RECORDED, data: command }] : [],
  evolve: (state, event) => state ?? event.data,
};

const ownerOfProduct = async (store: EventStore, stripeProductId: string): Promise<string> => {
  const [owner] = await store.readStream(productOwnerStream(stripeProductId));
  if (owner) return (owner.data as Owner).planId;
  const imported = await importedPlanId(stripeProductId);
  if ((await store.readStream(planStream(imported))).length > 0) return imported;
  throw new NotYetApplicable(
    `no plan owns Stripe product ${stripeProductId} yet (its product event has not been applied)`,
  );
};

export const applyProductEvent = async (
  ctx: InboundContext,
  product: StripeProduct,
  { fromNudges }: { fromNudges: boolean },
): Promise<void> => {
  const linkedPlanId = product.metadata.nudges_plan_id;
  const planId = linkedPlanId ?? await importedPlanId(product.id);
  const stream = planStream(planId);
  const plan = await load(ctx.store, planDecider, stream);
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
      await applyOnce(ctx, planDecider, stream, { type: "LinkStripeProduct", data: link }, "link");
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
    await applyOnce(ctx, planDecider, stream, { type: "ImportStripeProduct", data }, "import");
  } else {
    const data = { planId, at, ...change, ...productFields(product) };
    await applyOnce(ctx, planDecider, stream, { type: "ApplyStripeProductChange", data }, "change");
  }
  if (ctx.stripeEventType === "product.deleted") {
    const data = { planId, at, ...change };
    await applyOnce(
      ctx,
      planDecider,
      stream,
      { type: "ApplyStripeProductDeletion", data },
      "delete",
    );
  }
};

export const applyPriceEvent = async (
  ctx: InboundContext,
  price: StripePrice,
  { fromNudges }: { fromNudges: boolean },
): Promise<void> => {
  const linkedTierId = price.metadata.nudges_price_tier_id;
  const priceTierId = linkedTierId ?? await importedTierId(price.id);
  const stream = priceTierStream(priceTierId);
  const tier = await load(ctx.store, priceTierDecider, stream);
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
      await applyOnce(
        ctx,
        priceTierDecider,
        stream,
        { type: "LinkStripePrice", data: link },
        "link",
      );
    }
  }
  if (fromNudges) return;
  if (linkedTierId !== undefined && ctx.stripeEventType === "price.created") return;

  if (tier === null) {
    const planId = price.metadata.nudges_plan_id ?? await ownerOfProduct(ctx.store, price.product);
    const terms = validTerms({
      planId,
      name: price.nickname ?? null,
      unitAmount: unitAmountOf(price),
      currency: price.currency,
      interval: price.recurring?.interval ?? null,
      intervalCount: price.recurring ? price.recurring.interval_count ?? 1 : null,
    });
    const data = { priceTierId, at, ...change, ...terms, stripePriceId: price.id };
    await applyOnce(
      ctx,
      priceTierDecider,
      stream,
      { type: "ImportStripePrice", data: { ...data, isActive: price.active } },
      "import",
    );
  } else {
    const data = {
      priceTierId,
      at,
      ...change,
      isActive: price.active,
      name: price.nickname ?? null,
      ...(price.unit_amount == null ? {} : { unitAmount: price.unit_amount }),
    };
    await applyOnce(
      ctx,
      priceTierDecider,
      stream,
      { type: "ApplyStripePriceChange", data },
      "change",
    );
  }
  if (ctx.stripeEventType === "price.deleted") {
    const data = { priceTierId, at, ...change };
    await applyOnce(
      ctx,
      priceTierDecider,
      stream,
      { type: "ApplyStripePriceDeletion", data },
      "delete",
    );
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
