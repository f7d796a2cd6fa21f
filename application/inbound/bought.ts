/**
 * What a checkout or a subscription bought: the price tier of a Stripe price, imported
 * first when Nudges has not seen the price (as price.created would), and for a checkout,
 * whether what was paid is what the tier costs. A price Nudges cannot match (its product
 * belongs to no plan, it has no fixed amount) buys nothing: the payment is recorded with
 * the problem, and no plan subscription grants access for it.
 * @module
 */
import { DomainError } from "../../domain/decider.ts";
import type { PaymentProblem } from "../../domain/payment_confirmation.ts";
import type { PriceTier } from "../../domain/price_tier.ts";
import { PermanentFailure } from "../ports/bus.ts";
import { priceTiers } from "../shared/aggregates.ts";
import { nameBasedId } from "../shared/ids.ts";
import { applyPriceEvent, planOwningProduct } from "./catalog.ts";
import type { InboundContext } from "./context.ts";
import { type CheckoutSession, StripePrice } from "./stripe_objects.ts";

/** The tier of a Stripe price: Nudges' own, one imported before, or imported now. */
export const tierOfPrice = async (
  ctx: InboundContext,
  price: StripePrice,
): Promise<PriceTier | null> => {
  const linked = price.metadata.nudges_price_tier_id;
  if (linked !== undefined) return (await priceTiers.read(ctx.store, linked)).state;
  const importedId = nameBasedId("priceTier", price.id);
  const imported = (await priceTiers.read(ctx.store, importedId)).state;
  if (imported !== null) return imported;
  // Importing a price whose product no plan owns would park this event as a price event.
  if (await planOwningProduct(ctx.store, price.product) === null) return null;
  try {
    await applyPriceEvent({ ...ctx, stripeEventType: "price.created" }, price, {
      fromNudges: false,
    });
  } catch (error) {
    if (!(error instanceof DomainError || error instanceof PermanentFailure)) throw error;
    ctx.logger?.warn("Stripe price cannot be imported", { priceId: price.id, error });
    return null;
  }
  return (await priceTiers.read(ctx.store, importedId)).state;
};

export type Bought = {
  planId: string | null;
  priceTierId: string | null;
  problem: PaymentProblem | null;
};

type Line = { tier: PriceTier; quantity: number };

/** The session's tier: named in metadata.nudges_*, else found through its line items. */
const lineOf = async (ctx: InboundContext, session: CheckoutSession): Promise<Line | null> => {
  const named = session.metadata.nudges_price_tier_id;
  if (named !== undefined) {
    const tier = (await priceTiers.read(ctx.store, named)).state;
    return tier && { tier, quantity: 1 };
  }
  if (ctx.gateway === undefined) {
    throw new Error("a Checkout Session without metadata needs the Stripe gateway for its items");
  }
  // A Payment Link or a pricing table: Stripe's line items name the price.
  for (const item of await ctx.gateway.listCheckoutLineItems(session.id)) {
    const price = StripePrice.safeParse(item.price);
    if (!price.success) continue;
    const tier = await tierOfPrice(ctx, price.data);
    if (tier !== null) return { tier, quantity: item.quantity };
  }
  return null;
};

export const whatWasBought = async (
  ctx: InboundContext,
  session: CheckoutSession,
): Promise<Bought> => {
  const line = await lineOf(ctx, session);
  if (line === null) {
    return {
      planId: session.metadata.nudges_plan_id ?? null,
      priceTierId: null,
      problem: {
        code: "UnknownPrice",
        message: `Checkout Session ${session.id} is for a price Nudges does not sell`,
      },
    };
  }
  const { tier, quantity } = line;
  const bought = { planId: tier.planId, priceTierId: tier.id, problem: null };
  const paid = session.amount_subtotal ?? session.amount_total;
  // Nothing was charged (a trial, a full discount): there is no amount to compare.
  if (session.payment_status === "no_payment_required" || paid == null) return bought;
  const expected = tier.unitAmount * quantity;
  if (paid === expected && session.currency === tier.currency) return bought;
  return {
    ...bought,
    problem: {
      code: "AmountMismatch",
      message: `Checkout Session ${session.id} is for ${paid} ${session.currency}, ` +
        `price tier ${tier.id} costs ${expected} ${tier.currency}`,
    },
  };
};
