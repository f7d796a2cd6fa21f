/**
 * Outbound sync of clients: a new client becomes a Stripe customer, linked from Stripe's
 * answer.
 * @module
 */
import { clients } from "../shared/aggregates.ts";
import type { IntegrationEventOf } from "../shared/integration_events.ts";
import {
  callStripe,
  earlierTwin,
  existing,
  handledAlready,
  markFailed,
  type OutboundContext,
  record,
} from "./stripe_call.ts";

export const clientCreated = async (
  ctx: OutboundContext,
  event: IntegrationEventOf<"ClientCreatedEvent">,
) => {
  const { clientId, name, email } = event.data;
  const loaded = await clients.read(ctx.store, clientId);
  const client = existing(loaded.state, `client ${clientId}`);
  if (client.stripeCustomerId !== null || handledAlready(ctx, clients, clientId, loaded)) return;
  const twin = await earlierTwin(ctx, "customers", "nudges_client_id", clientId);
  const customerId = twin ?? await callStripe(
    ctx,
    (key) => ctx.gateway.createCustomer({ nudgesClientId: clientId, name, email }, key),
    markFailed(ctx, "client", clientId),
  );
  if (customerId === null) return;
  await record(ctx, clients, "link", {
    type: "LinkStripeCustomer",
    data: { clientId, at: ctx.clock(), stripeCustomerId: customerId },
  });
};
