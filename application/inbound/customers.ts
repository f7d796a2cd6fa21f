/**
 * Stripe customers → which client each belongs to, and the client's name and email as
 * changed in Stripe (customer.updated), or its Stripe customer gone (customer.deleted). Nudges makes a client's customer with
 * metadata.nudges_client_id (application/outbound/clients.ts links the client right
 * after); its customer.created webhook records that owner under the customer's id, so a
 * checkout session that names only its customer finds the client in one read.
 * @module
 */
import type { ClientEvent } from "../../domain/client.ts";
import { PermanentFailure } from "../ports/bus.ts";
import type { EventStore } from "../ports/event_store.ts";
import { clients } from "../shared/aggregates.ts";
import { applyOnce, type InboundContext, stripeChange } from "./context.ts";
import { recordCustomerOwner, recordedClientOfCustomer } from "./owners.ts";
import type { StripeCustomer } from "./stripe_objects.ts";

export const applyCustomerCreated = async (
  ctx: InboundContext,
  customer: StripeCustomer,
): Promise<void> => {
  const clientId = customer.metadata.nudges_client_id;
  // A customer made in the Dashboard (or by a checkout) belongs to no client: Nudges
  // does not import customers.
  if (clientId === undefined) return;
  const { state: client } = await clients.read(ctx.store, clientId);
  if (client === null) {
    throw new PermanentFailure(
      `Stripe customer ${customer.id} names client ${clientId} in metadata.nudges_client_id, but there is no such client`,
    );
  }
  await recordCustomerOwner(ctx, customer.id, clientId);
};

/**
 * customer.updated and customer.deleted of a client's customer. Nudges' own change coming
 * back (`fromNudges`) is in the client already, and a late echo must not overwrite a
 * newer one. Customers of no client are not imported.
 */
export const applyCustomerChange = async (
  ctx: InboundContext,
  customer: StripeCustomer,
  { fromNudges }: { fromNudges: boolean },
): Promise<void> => {
  const clientId = customer.metadata.nudges_client_id ??
    await clientOfCustomer(ctx.store, customer.id);
  if (clientId === null) return;
  const { state: client } = await clients.read(ctx.store, clientId);
  if (client === null) {
    throw new PermanentFailure(
      `Stripe customer ${customer.id} names client ${clientId} in metadata.nudges_client_id, but there is no such client`,
    );
  }
  if (ctx.stripeEventType === "customer.deleted") {
    await applyOnce(ctx, clients, {
      type: "ApplyStripeCustomerDeletion",
      data: { clientId, ...stripeChange(ctx), stripeCustomerId: customer.id },
    }, "delete");
    return;
  }
  if (fromNudges) return;
  await applyOnce(ctx, clients, {
    type: "ApplyStripeCustomerChange",
    data: {
      clientId,
      ...stripeChange(ctx),
      ...(customer.name != null && { name: customer.name }),
      ...(customer.email != null && { email: customer.email }),
    },
  }, "change");
};

const PAGE = 1000;

/** The client whose Stripe customer this is; null when no client has it. */
export const clientOfCustomer = async (
  store: EventStore,
  stripeCustomerId: string,
): Promise<string | null> => {
  const recorded = await recordedClientOfCustomer(store, stripeCustomerId);
  if (recorded !== null) return recorded;
  // Last resort, for a customer whose customer.created has not been applied (webhooks of
  // different objects come in any order) or came before Nudges recorded owners: the
  // link is only in the client's stream, found by its Stripe id, so read everything.
  // Rare: Nudges sets client_reference_id on its own sessions, and only sessions
  // without it come here.
  let found: string | null = null;
  for (let after = 0;;) {
    // Every stream's events come by; only the clients' links are looked at.
    const page = await store.readAll<ClientEvent>({ after, limit: PAGE });
    for (const event of page) {
      if (
        event.type === "StripeCustomerLinked" && event.data.stripeCustomerId === stripeCustomerId
      ) {
        found = event.data.clientId;
      }
    }
    if (page.length < PAGE) return found;
    after = page[page.length - 1]!.position;
  }
};
