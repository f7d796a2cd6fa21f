/**
 * The billing commands the product API runs: a client's new name or email, a Stripe
 * Checkout Session for a client and a price tier, and the intent to cancel a plan
 * subscription (the Stripe call follows on the outbound path; Stripe's webhook confirms).
 * @module
 */
import { conflict, notFound } from "../../domain/decider.ts";
import {
  type CreatedCheckoutSession,
  idempotencyKeyFor,
  type StripeGateway,
} from "../ports/stripe_gateway.ts";
import { clients, planSubscriptions, priceTiers } from "../shared/aggregates.ts";
import { nameBasedId } from "../shared/ids.ts";
import type { CommandContext } from "./product_commands.ts";

const options = (ctx: CommandContext, expectedRevision?: number) => ({
  metadata: { correlationId: ctx.requestId, causationId: ctx.requestId, cause: ctx.cause },
  newEventId: ctx.newId,
  expectedRevision,
});

export const updateClient = async (
  ctx: CommandContext,
  { clientId, expectedVersion, ...changes }: {
    clientId: string;
    name?: string;
    email?: string;
    expectedVersion?: number;
  },
) => ({
  id: clientId,
  ...await clients.handle(ctx.store, {
    type: "UpdateClient",
    data: { clientId, at: ctx.clock(), ...changes },
  }, options(ctx, expectedVersion)),
});

export const cancelPlanSubscription = async (
  ctx: CommandContext,
  { planSubscriptionId, immediately }: { planSubscriptionId: string; immediately: boolean },
) => ({
  id: planSubscriptionId,
  ...await planSubscriptions.handle(ctx.store, {
    type: "RequestPlanSubscriptionCancel",
    data: { planSubscriptionId, at: ctx.clock(), immediately },
  }, options(ctx)),
});

/**
 * The client's Stripe customer; made now when outbound sync has not made it yet, with the
 * very call and key outbound sync uses (its ClientCreated event's), and linked the way
 * outbound sync links it: when that call comes, Stripe answers the same customer and
 * nothing is recorded twice.
 */
const customerOf = async (
  ctx: CommandContext,
  gateway: StripeGateway,
  clientId: string,
): Promise<string> => {
  const { state: client, recorded } = await clients.read(ctx.store, clientId);
  if (client === null) throw notFound("ClientNotFound", `no client ${clientId}`);
  if (client.stripeCustomerDeleted) {
    throw conflict(
      "StripeCustomerDeleted",
      `the Stripe customer of client ${clientId} was deleted in Stripe`,
    );
  }
  if (client.stripeCustomerId !== null) return client.stripeCustomerId;
  const created = recorded[0];
  if (created?.type !== "ClientCreated") throw notFound("ClientNotFound", `no client ${clientId}`);
  const { name, email } = created.data;
  const cause = created.metadata.eventId;
  const stripeCustomerId = await gateway.createCustomer(
    { nudgesClientId: clientId, name, email },
    idempotencyKeyFor(cause),
  );
  await clients.handle(ctx.store, {
    type: "LinkStripeCustomer",
    data: { clientId, at: ctx.clock(), stripeCustomerId },
  }, { ...options(ctx), once: { scope: "outbound", cause, step: "link" } });
  return stripeCustomerId;
};

export type CheckoutRequest = {
  clientId: string;
  priceTierId: string;
  successUrl: string;
  cancelUrl: string;
};

export const createCheckoutSession = async (
  ctx: CommandContext & { gateway: StripeGateway },
  request: CheckoutRequest,
): Promise<CreatedCheckoutSession> => {
  const { clientId, priceTierId, successUrl, cancelUrl } = request;
  const { state: tier } = await priceTiers.read(ctx.store, priceTierId);
  if (tier === null) throw notFound("PriceTierNotFound", `no price tier ${priceTierId}`);
  if (!tier.isActive || tier.deleted) {
    throw conflict("PriceTierArchived", `price tier ${priceTierId} is archived: nobody can buy it`);
  }
  if (tier.stripePriceId === null) {
    throw conflict(
      "PriceTierNotInStripe",
      `price tier ${priceTierId} has no Stripe price yet; try again in a moment`,
    );
  }
  const stripeCustomerId = await customerOf(ctx, ctx.gateway, clientId);
  // The same request again (a retry with the same x-request-id) gets the same session.
  const key = nameBasedId(
    "checkoutSession",
    JSON.stringify([ctx.requestId, clientId, priceTierId, successUrl, cancelUrl]),
  );
  return await ctx.gateway.createCheckoutSession({
    nudgesClientId: clientId,
    nudgesPlanId: tier.planId,
    nudgesPriceTierId: priceTierId,
    stripeCustomerId,
    stripePriceId: tier.stripePriceId,
    mode: tier.interval === null ? "payment" : "subscription",
    successUrl,
    cancelUrl,
  }, idempotencyKeyFor(key));
};
