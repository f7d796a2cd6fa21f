// Scenes for reconcile tests: Nudges objects made through the command handler as GraphQL
// and outbound sync would make them, and Stripe objects made through the SDK as the
// Dashboard (or a lost outbound create) would.
import type Stripe from "stripe";
import { randomId } from "../../application/ports/clock.ts";
import type { EventStore } from "../../application/ports/event_store.ts";
import { silentLogger } from "../../application/ports/logger.ts";
import type { StripeApi } from "../../application/ports/stripe_gateway.ts";
import type { ReconcileDeps } from "../../application/reconcile/run_context.ts";
import { clients, plans, priceTiers } from "../../application/shared/aggregates.ts";

const options = {
  metadata: { correlationId: "t", causationId: "t", cause: { kind: "system", reason: "test" } },
} as const;

/** An ISO time `seconds` from now. */
export const secondsFromNow = (seconds: number): string =>
  new Date(Date.now() + seconds * 1000).toISOString();

export const reconcileDeps = (store: EventStore, gateway: StripeApi): ReconcileDeps => ({
  store,
  gateway,
  clock: () => new Date().toISOString(),
  logger: silentLogger,
});

/** A plan made in Nudges (PENDING); linked to `stripeProductId` when given. */
export const nudgesPlan = async (
  store: EventStore,
  { name = "Pro", at = secondsFromNow(-60), stripeProductId }: {
    name?: string;
    at?: string;
    stripeProductId?: string;
  } = {},
): Promise<string> => {
  const planId = randomId();
  await plans.handle(store, {
    type: "CreatePlan",
    data: { planId, at, name, description: null, iconUrl: null },
  }, options);
  if (stripeProductId) {
    await plans.handle(store, {
      type: "LinkStripeProduct",
      data: { planId, at, stripeProductId },
    }, options);
  }
  return planId;
};

export const nudgesTier = async (
  store: EventStore,
  planId: string,
  { at = secondsFromNow(-60), stripePriceId, unitAmount = 1200 }: {
    at?: string;
    stripePriceId?: string;
    unitAmount?: number;
  } = {},
): Promise<string> => {
  const priceTierId = randomId();
  await priceTiers.handle(store, {
    type: "CreatePriceTier",
    data: {
      priceTierId,
      at,
      planId,
      name: "Monthly",
      unitAmount,
      currency: "usd",
      interval: "month",
      intervalCount: 1,
    },
  }, options);
  if (stripePriceId) {
    await priceTiers.handle(store, {
      type: "LinkStripePrice",
      data: { priceTierId, at, stripePriceId },
    }, options);
  }
  return priceTierId;
};

export const nudgesClient = async (
  store: EventStore,
  { at = secondsFromNow(-60), stripeCustomerId }: { at?: string; stripeCustomerId?: string } = {},
): Promise<string> => {
  const clientId = randomId();
  await clients.handle(store, {
    type: "CreateClient",
    data: { clientId, at, name: "Ada", email: `ada-${clientId.slice(0, 8)}@example.com` },
  }, options);
  if (stripeCustomerId) {
    await clients.handle(store, {
      type: "LinkStripeCustomer",
      data: { clientId, at, stripeCustomerId },
    }, options);
  }
  return clientId;
};

/** A product made in the Dashboard, with a monthly price. */
export const dashboardProduct = async (stripe: Stripe, name = "Dashboard plan") => {
  const product = await stripe.products.create({ name });
  const price = await stripe.prices.create({
    product: product.id,
    unit_amount: 900,
    currency: "usd",
    recurring: { interval: "month" },
  });
  return { product, price };
};
