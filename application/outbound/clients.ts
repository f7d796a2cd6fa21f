/**
 * Outbound sync of clients: a new client becomes a Stripe customer, linked from Stripe's
 * answer; a changed name or email updates the customer, with what no later event set
 * again.
 * @module
 */
import type { ClientChanges, ClientEvent } from "../../domain/client.ts";
import type { RecordedEvent } from "../ports/event_store.ts";
import { clients } from "../shared/aggregates.ts";
import type { IntegrationEventOf } from "../shared/integration_events.ts";
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

type ClientField = keyof ClientChanges;

/**
 * The fields that events after the causing one set again: a delayed call must not send
 * its older values (a newer Stripe change is never sent back, so Stripe would keep them).
 */
const setAgainLater = (recorded: readonly RecordedEvent<ClientEvent>[], eventId: string) => {
  const cause = recorded.findIndex((e) => e.metadata.eventId === eventId);
  const fields = new Set<ClientField>();
  for (const event of recorded.slice(cause + 1)) {
    if (event.type === "ClientUpdated" || event.type === "ClientChangedInStripe") {
      for (const field of Object.keys(event.data.changes)) fields.add(field as ClientField);
    }
  }
  return fields;
};

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
  const later = setAgainLater(loaded.recorded, ctx.event.eventId);
  const fields = (Object.keys(changes) as ClientField[]).filter((field) => !later.has(field));
  if (fields.length === 0) return;
  const current = Object.fromEntries(fields.map((field) => [field, changes[field]]));
  // A call that sends only part of the event's changes has a key of its own: Stripe
  // refuses a key reused with other parameters.
  const whole = fields.length === Object.keys(changes).length;
  await callStripe(
    ctx,
    (key) => ctx.gateway.updateCustomer(customerId, current, key),
    markFailed(ctx, "client", clientId),
    whole ? ctx.event.eventId : `${ctx.event.eventId}-${fields.sort().join("-")}`,
  );
};
