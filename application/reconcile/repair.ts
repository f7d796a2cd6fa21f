/**
 * The repair of each drift, through the deciders and the one command handler: what Stripe
 * has is applied by the inbound flow's use cases (as its webhook would have been), what
 * Nudges has is pushed by the outbound flow's (push.ts). Every event a repair appends
 * names the run in its metadata.
 * @module
 */
import { DomainError } from "../../domain/decider.ts";
import {
  applyCustomerCreated,
  applyPriceEvent,
  applyProductEvent,
  applySubscriptionEvent,
  importedPlanId,
  importedTierId,
  StripeCustomer,
  StripePrice,
  StripeProduct,
  StripeSubscription,
} from "../inbound/mod.ts";
import { clients, planSubscriptions } from "../shared/aggregates.ts";
import type { Drift, DriftKind, RepairOutcome } from "./drift.ts";
import { pushChanges, pushCreation, type Pushed, unlink } from "./push.ts";
import { inboundContext, type RunContext } from "./run_context.ts";

const PUSHED: Record<DriftKind, Pushed | null> = {
  product: "plan",
  price: "priceTier",
  customer: "client",
  subscription: null,
};

const ok: RepairOutcome = { status: "repaired" };

const CONCURRENT_IMPORT = new Set(["PlanExists", "PriceTierExists"]);

const unrepairable = (reason: string): RepairOutcome => ({ status: "unrepairable", reason });

/**
 * The Nudges object the inbound flow resolves a Stripe object to: the one its metadata
 * names, else the one imported from it. Reconcile matched it by its link too.
 */
const inboundTarget = (drift: Drift): string | null => {
  const metadata = (drift.object?.metadata ?? {}) as Record<string, string>;
  switch (drift.kind) {
    case "product":
      return metadata.nudges_plan_id ?? importedPlanId(drift.stripeId!);
    case "price":
      return metadata.nudges_price_tier_id ?? importedTierId(drift.stripeId!);
    default:
      return drift.nudgesId;
  }
};

/** Why no repair is made for a drift; null when one is. */
const noRepair = (drift: Drift): string | null => {
  if (drift.kind === "subscription" && drift.type === "twinGone") {
    // Stripe keeps canceled subscriptions, and lists them: one it no longer has at all was
    // deleted with test data. A plan subscription changes only on Stripe's word.
    return `Stripe no longer has subscription ${drift.stripeId}: plan subscription ${drift.nudgesId} is left as it is`;
  }
  switch (drift.type) {
    case "orphan":
      return `Stripe ${drift.kind} ${drift.stripeId} names ${drift.nudgesId} in its metadata, which Nudges does not have`;
    case "duplicate":
      return `Stripe ${drift.kind} ${drift.stripeId} is a second twin of ${drift.nudgesId}, which is linked to another: archive it in the Dashboard`;
    case "stripeNewer":
    case "unlinkedTwin":
      return inboundTarget(drift) === drift.nudgesId
        ? null
        : `Stripe ${drift.kind} ${drift.stripeId} is linked to ${drift.nudgesId}, but its metadata does not name it: its values are not applied`;
    default:
      return null;
  }
};

const applyFromStripe = async (run: RunContext, drift: Drift): Promise<void> => {
  const object = drift.object!;
  const created = drift.stripeTime ?? Math.floor(Date.parse(run.clock()) / 1000);
  switch (drift.kind) {
    case "product": {
      const ctx = inboundContext(run, "product.updated", object, created);
      return await applyProductEvent(ctx, StripeProduct.parse(object), { fromNudges: false });
    }
    case "price": {
      const ctx = inboundContext(run, "price.updated", object, created);
      return await applyPriceEvent(ctx, StripePrice.parse(object), { fromNudges: false });
    }
    case "customer": {
      const customer = StripeCustomer.parse(object);
      const clientId = drift.nudgesId!;
      await clients.handle(run.store, {
        type: "LinkStripeCustomer",
        data: { clientId, at: run.clock(), stripeCustomerId: customer.id },
      }, { metadata: run.metadata, once: { scope: "reconcile", cause: run.runId, step: "link" } });
      // The owner record a checkout session finds its client by.
      return await applyCustomerCreated(
        inboundContext(run, "customer.created", object, created),
        customer,
      );
    }
    case "subscription": {
      // What Stripe says of it, as its customer.subscription.updated would; one it has
      // canceled for good as its .deleted.
      const subscription = StripeSubscription.parse(object);
      const type = subscription.status === "canceled"
        ? "customer.subscription.deleted"
        : "customer.subscription.updated";
      return await applySubscriptionEvent(
        { ...inboundContext(run, type, object, created), gateway: run.gateway },
        subscription,
      );
    }
  }
};

/** A subscription the inbound use case did not import sells no tier Nudges could match. */
const notImported = async (run: RunContext, drift: Drift): Promise<RepairOutcome | null> =>
  drift.kind === "subscription" &&
    (await planSubscriptions.read(run.store, drift.nudgesId!)).state === null
    ? unrepairable(
      `Stripe subscription ${drift.stripeId} sells no price Nudges can import (tiered or metered)`,
    )
    : null;

const push = async (run: RunContext, kind: Pushed, id: string): Promise<RepairOutcome> => {
  const notLinked = await pushCreation(run, kind, id);
  return notLinked === null ? ok : { status: "failed", error: notLinked };
};

/** Repairs one drift; never throws: a failure is the outcome. */
export const repair = async (run: RunContext, drift: Drift): Promise<RepairOutcome> => {
  const reason = noRepair(drift);
  if (reason !== null) return unrepairable(reason);
  const pushed = PUSHED[drift.kind]!;
  try {
    switch (drift.type) {
      case "missingInNudges":
      case "unlinkedTwin":
      case "stripeNewer":
        await applyFromStripe(run, drift).catch((error) => {
          // The object's webhook imported it meanwhile: apply the values to it instead.
          if (error instanceof DomainError && CONCURRENT_IMPORT.has(error.code)) {
            return applyFromStripe(run, drift);
          }
          throw error;
        });
        return await notImported(run, drift) ?? ok;
      case "nudgesNewer":
        await pushChanges(run, pushed, drift.nudgesId!);
        return ok;
      case "twinGone":
        // The object is PENDING then, pushed like one that never reached Stripe.
        await unlink(run, pushed, drift.nudgesId!, drift.stripeId!);
        return await push(run, pushed, drift.nudgesId!);
      case "missingInStripe":
        return await push(run, pushed, drift.nudgesId!);
      default:
        return unrepairable(`no repair for ${drift.type}`);
    }
  } catch (error) {
    run.logger.warn("reconcile repair failed", { drift: describe(drift), error });
    return { status: "failed", error: error instanceof Error ? error.message : String(error) };
  }
};

export const describe = (drift: Drift): string =>
  `${drift.kind} ${drift.type} (Nudges ${drift.nudgesId ?? "-"}, Stripe ${drift.stripeId ?? "-"})`;
