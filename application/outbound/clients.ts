/**
 * Outbound sync of clients: a new client becomes a Stripe customer, linked from Stripe's
 * answer; a changed name or email updates the customer, with what no later event set
 * again.
 * @module
 */
import type { ClientChanges, ClientEvent } from "../../domain/client.ts";
import { clients } from "../shared/aggregates.ts";
import type { IntegrationEventOf } from "../shared/integration_events.ts";
import {
  createInStripe,
  existing,
  handledAlready,
  markFailed,
  NotInStripeYet,
  type OutboundContext,
  record,
  updateInStripe,
} from "./stripe_call.ts";

export const clientCreated = async (
  ctx: OutboundContext,
  event: IntegrationEventOf<"ClientCreatedEvent">,
) => {
  const { clientId, name, email } = event.data;
  const loaded = await clients.read(ctx.store, clientId);
  const client = existing(loaded.state, `client ${clientId}`);
  if (client.stripeCustomerId !== null || handledAlready(ctx, clients, clientId, loaded)) return;
  const customerId = await createInStripe(
    ctx,
    { kind: "customers", metadataKey: "nudges_client_id", nudgesId: clientId },
    (key) => ctx.gateway.createCustomer({ nudgesClientId: clientId, name, email }, key),
    markFailed(ctx, "client", clientId),
  );
  if (customerId === null) return;
  await record(ctx, clients, "link", {
    type: "LinkStripeCustomer",
    data: { clientId, at: ctx.clock(), stripeCustomerId: customerId },
  });
};

/** The client fields an event sets, for updateInStripe. */
const setBy = (event: ClientEvent): (keyof ClientChanges)[] =>
  event.type === "ClientUpdated" || event.type === "ClientChangedInStripe"
    ? Object.keys(event.data.changes) as (keyof ClientChanges)[]
    : [];

export const clientUpdated = async (
  ctx: OutboundContext,
  event: IntegrationEventOf<"ClientUpdatedEvent">,
) => {
  const { clientId, changes } = event.data;
  const loaded = await clients.read(ctx.store, clientId);
  const client = existing(loaded.state, `client ${clientId}`);
  if (client.stripeCustomerDeleted) {
    ctx.logger.warn("the client's Stripe customer was deleted: nothing to update", { clientId });
    return;
  }
  if (client.stripeCustomerId === null) {
    if (client.syncStatus === "FAILED") return;
    throw new NotInStripeYet(`client ${clientId} has no Stripe customer yet`);
  }
  const customerId = client.stripeCustomerId;
  await updateInStripe(
    ctx,
    { what: `client ${clientId}`, recorded: loaded.recorded, setBy },
    changes,
    (current, key) => ctx.gateway.updateCustomer(customerId, current, key),
    markFailed(ctx, "client", clientId),
  );
};
