/**
 * Matching what Stripe lists with what Nudges holds, and naming each difference: a pure
 * function of the two snapshots. Each Stripe object is matched to its Nudges object by
 * the id linked to it, else by its metadata.nudges_*, else (for a product or a price
 * imported from Stripe) by the id derived from its Stripe id.
 * @module
 */
import type { Plan } from "../../domain/plan.ts";
import type { PriceTier } from "../../domain/price_tier.ts";
import {
  importedPlanId,
  importedTierId,
  planSubscriptionIdOf,
  StripePrice,
  StripeProduct,
  stripeStateOf,
  StripeSubscription,
} from "../inbound/mod.ts";
import type { StripeRecord } from "../ports/stripe_gateway.ts";
import type { Drift, DriftKind } from "./drift.ts";
import type { NudgesSide } from "./nudges_side.ts";
import type { StripeSide } from "./stripe_side.ts";

/** Stripe objects Nudges leaves alone on purpose, with why. */
export type Ignored = { kind: DriftKind; stripeId: string; reason: string };

export type Comparison = {
  drifts: Drift[];
  ignored: Ignored[];
  /** Linked Nudges objects whose Stripe twin was not listed: gone, or made after the list. */
  unlisted: Drift[];
};

/** Equal values; times compared as instants, whatever their precision. */
const sameValue = (a: unknown, b: unknown): boolean =>
  a === b ||
  (typeof a === "string" && typeof b === "string" && Date.parse(a) === Date.parse(b));

const metadataOf = (object: StripeRecord): Record<string, string> =>
  (object.metadata ?? {}) as Record<string, string>;

const productFieldsDiffer = (plan: Plan, product: StripeProduct): string[] => {
  const fields: string[] = [];
  if (plan.name !== product.name) fields.push("name");
  if (plan.description !== (product.description || null)) fields.push("description");
  if (plan.iconUrl !== (product.images?.[0] ?? null)) fields.push("iconUrl");
  if ((plan.isActive && !plan.deleted) !== product.active) fields.push("isActive");
  return fields;
};

const priceFieldsDiffer = (tier: PriceTier, price: StripePrice): string[] => {
  const fields: string[] = [];
  if (tier.name !== (price.nickname || null)) fields.push("name");
  if (price.unit_amount != null && tier.unitAmount !== price.unit_amount) {
    fields.push("unitAmount");
  }
  if ((tier.isActive && !tier.deleted) !== price.active) fields.push("isActive");
  return fields;
};

type Twinned = { id: string; deleted?: boolean; syncStatus: string };

/**
 * The Nudges objects no listed Stripe object matched: never pushed (missingInStripe), or
 * linked to an id the list lacks (unlisted, for the caller to confirm gone).
 */
const unmatched = <T extends Twinned>(
  kind: DriftKind,
  objects: Map<string, T>,
  stripeIdOf: (object: T) => string | null,
  matched: ReadonlySet<string>,
  out: Comparison,
) => {
  for (const object of objects.values()) {
    if (matched.has(object.id) || object.deleted) continue;
    const stripeId = stripeIdOf(object);
    if (stripeId === null) {
      out.drifts.push({ kind, type: "missingInStripe", nudgesId: object.id, stripeId: null });
    } else {
      out.unlisted.push({ kind, type: "twinGone", nudgesId: object.id, stripeId });
    }
  }
};

export const compare = (nudges: NudgesSide, stripe: StripeSide): Comparison => {
  const out: Comparison = { drifts: [], ignored: [], unlisted: [] };
  const matched = new Set<string>();

  for (const object of stripe.products.objects) {
    const product = StripeProduct.parse(object);
    const named = product.metadata.nudges_plan_id;
    const planId = nudges.linkedTo.get(product.id) ?? named ?? importedPlanId(product.id);
    const plan = nudges.plans.get(planId);
    const base = { kind: "product" as const, nudgesId: planId, stripeId: product.id, object };
    const stripeTime = typeof object.updated === "number" ? object.updated : undefined;
    if (plan === undefined) {
      out.drifts.push({ ...base, type: named === undefined ? "missingInNudges" : "orphan" });
    } else if (plan.stripeProductId !== product.id) {
      if (plan.stripeProductId === null && !matched.has(planId)) {
        out.drifts.push({ ...base, type: "unlinkedTwin", stripeTime });
        matched.add(planId);
      } else if (product.active) {
        out.drifts.push({ ...base, type: "duplicate" });
      }
    } else {
      matched.add(planId);
      const fields = productFieldsDiffer(plan, product);
      if (fields.length === 0) continue;
      // Stripe stamps a product's last change (`updated`); the plan keeps its own.
      const stripeLast = !plan.deleted && (stripeTime ?? 0) >= plan.lastChangedAt;
      out.drifts.push({
        ...base,
        type: stripeLast ? "stripeNewer" : "nudgesNewer",
        fields,
        stripeTime,
      });
    }
  }
  unmatched("product", nudges.plans, (plan) => plan.stripeProductId, matched, out);

  matched.clear();
  for (const object of stripe.prices.objects) {
    const price = StripePrice.parse(object);
    const named = price.metadata.nudges_price_tier_id;
    const tierId = nudges.linkedTo.get(price.id) ?? named ?? importedTierId(price.id);
    const tier = nudges.priceTiers.get(tierId);
    // Prices carry no `updated`: their values count from the time they were listed.
    const base = {
      kind: "price" as const,
      nudgesId: tierId,
      stripeId: price.id,
      object,
      stripeTime: stripe.prices.listedAt,
    };
    if (tier === undefined) {
      if (named !== undefined) out.drifts.push({ ...base, type: "orphan" });
      else if (price.unit_amount == null) {
        out.ignored.push({
          kind: "price",
          stripeId: price.id,
          reason: "tiered and customer-chosen prices are not imported",
        });
      } else out.drifts.push({ ...base, type: "missingInNudges" });
    } else if (tier.stripePriceId !== price.id) {
      if (tier.stripePriceId === null && !matched.has(tierId)) {
        out.drifts.push({ ...base, type: "unlinkedTwin" });
        matched.add(tierId);
      } else if (price.active) {
        out.drifts.push({ ...base, type: "duplicate" });
      }
    } else {
      matched.add(tierId);
      const fields = priceFieldsDiffer(tier, price);
      if (fields.length === 0) continue;
      // Nudges changes a tier only by deleting it; any other difference came from Stripe.
      const type = tier.deleted ? "nudgesNewer" : "stripeNewer";
      out.drifts.push({ ...base, type, fields });
    }
  }
  unmatched("price", nudges.priceTiers, (tier) => tier.stripePriceId, matched, out);

  matched.clear();
  for (const object of stripe.customers.objects) {
    const named = metadataOf(object).nudges_client_id;
    const clientId = nudges.linkedTo.get(object.id) ?? named;
    const base = {
      kind: "customer" as const,
      nudgesId: clientId ?? null,
      stripeId: object.id,
      object,
    };
    if (clientId === undefined) {
      out.ignored.push({
        kind: "customer",
        stripeId: object.id,
        reason: "no metadata.nudges_client_id: Nudges does not import customers",
      });
      continue;
    }
    const client = nudges.clients.get(clientId);
    if (client === undefined) out.drifts.push({ ...base, type: "orphan" });
    else if (client.stripeCustomerId === object.id) matched.add(clientId);
    else if (client.stripeCustomerId === null && !matched.has(clientId)) {
      out.drifts.push({ ...base, type: "unlinkedTwin" });
      matched.add(clientId);
    } else out.drifts.push({ ...base, type: "duplicate" });
  }
  unmatched("customer", nudges.clients, (client) => client.stripeCustomerId, matched, out);

  matched.clear();
  for (const object of stripe.subscriptions.objects) {
    const parsed = StripeSubscription.safeParse(object);
    if (!parsed.success) {
      out.ignored.push({
        kind: "subscription",
        stripeId: object.id,
        reason: `not a subscription Nudges can read: ${parsed.error.issues[0]?.message}`,
      });
      continue;
    }
    // A plan subscription's id derives from its Stripe subscription's, whoever made it.
    const id = nudges.linkedTo.get(object.id) ?? planSubscriptionIdOf(object.id);
    const subscription = nudges.planSubscriptions.get(id);
    // Subscriptions carry no `updated`: their values count from the time they were listed.
    const base = {
      kind: "subscription" as const,
      nudgesId: id,
      stripeId: object.id,
      object,
      stripeTime: stripe.subscriptions.listedAt,
    };
    if (subscription === undefined) {
      out.drifts.push({ ...base, type: "missingInNudges" });
      continue;
    }
    matched.add(subscription.id);
    const said = stripeStateOf(parsed.data);
    const fields = (Object.keys(said) as (keyof typeof said)[])
      .filter((field) => !sameValue(said[field], subscription[field]));
    if (fields.length > 0) out.drifts.push({ ...base, type: "stripeNewer", fields });
  }
  for (const subscription of nudges.planSubscriptions.values()) {
    const stripeId = subscription.stripeSubscriptionId;
    if (matched.has(subscription.id) || stripeId === null || subscription.status === "canceled") {
      continue;
    }
    out.unlisted.push({
      kind: "subscription",
      type: "twinGone",
      nudgesId: subscription.id,
      stripeId,
    });
  }
  return out;
};
