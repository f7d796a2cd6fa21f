/**
 * Client: a customer of Nudges, twinned with a Stripe Customer.
 * @module
 */
import { conflict, type Decider, invalid, notFound, unreachable } from "./decider.ts";
import { failed, isFailedWith, linked, needsLink, type SyncStatus, unlinked } from "./sync.ts";

export type Client = {
  id: string;
  name: string;
  email: string;
  stripeCustomerId: string | null;
  syncStatus: SyncStatus;
  syncError: string | null;
  createdAt: string;
};
export type ClientState = Client | null;

type At = { clientId: string; at: string };

export type ClientCommand =
  | { type: "CreateClient"; data: At & { name: string; email: string } }
  | { type: "LinkStripeCustomer"; data: At & { stripeCustomerId: string } }
  | { type: "UnlinkStripeCustomer"; data: At & { stripeCustomerId: string } }
  | { type: "MarkClientSyncFailed"; data: At & { error: string } };

export type ClientEvent =
  | { type: "ClientCreated"; data: At & { name: string; email: string } }
  | { type: "StripeCustomerLinked"; data: At & { stripeCustomerId: string } }
  /** Stripe no longer has the customer (reconcile found it gone): the client waits for another. */
  | { type: "StripeCustomerUnlinked"; data: At & { stripeCustomerId: string } }
  | { type: "ClientSyncFailed"; data: At & { error: string } };

// Deliberately loose: one @, no spaces, a dot in the domain. Stripe checks the rest.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const existing = (state: ClientState, clientId: string): Client => {
  if (state === null) throw notFound("ClientNotFound", `no client ${clientId}`);
  return state;
};

export const decide = (command: ClientCommand, state: ClientState): ClientEvent[] => {
  switch (command.type) {
    case "CreateClient": {
      const { clientId, at } = command.data;
      if (state !== null) throw conflict("ClientExists", `client ${clientId} exists already`);
      const name = command.data.name.trim();
      const email = command.data.email.trim().toLowerCase();
      if (name === "") throw invalid("ClientNameEmpty", "a client needs a name that is not blank");
      if (!EMAIL.test(email) || email.length > 512) {
        throw invalid("ClientEmailInvalid", `"${command.data.email}" is not an email address`);
      }
      return [{ type: "ClientCreated", data: { clientId, at, name, email } }];
    }
    case "LinkStripeCustomer": {
      const linked = existing(state, command.data.clientId).stripeCustomerId;
      return needsLink(linked, command.data.stripeCustomerId, "Client")
        ? [{ type: "StripeCustomerLinked", data: command.data }]
        : [];
    }
    case "UnlinkStripeCustomer":
      return existing(state, command.data.clientId).stripeCustomerId ===
          command.data.stripeCustomerId
        ? [{ type: "StripeCustomerUnlinked", data: command.data }]
        : [];
    case "MarkClientSyncFailed":
      return isFailedWith(existing(state, command.data.clientId), command.data.error)
        ? []
        : [{ type: "ClientSyncFailed", data: command.data }];
    default:
      return unreachable(command);
  }
};

export const evolve = (state: ClientState, event: ClientEvent): ClientState => {
  if (event.type === "ClientCreated") {
    const { clientId, at, name, email } = event.data;
    return {
      id: clientId,
      name,
      email,
      stripeCustomerId: null,
      syncStatus: "PENDING",
      syncError: null,
      createdAt: at,
    };
  }
  if (state === null) return state;
  switch (event.type) {
    case "StripeCustomerLinked":
      return linked(state, { stripeCustomerId: event.data.stripeCustomerId });
    case "StripeCustomerUnlinked":
      return unlinked(state, { stripeCustomerId: null });
    case "ClientSyncFailed":
      return failed(state, event.data.error);
    default:
      return unreachable(event);
  }
};

export const clientDecider: Decider<ClientCommand, ClientEvent, ClientState> = {
  initialState: () => null,
  decide,
  evolve,
};

export const clientStream = (clientId: string): string => `client-${clientId}`;
