/**
 * Client: a customer of Nudges, twinned with a Stripe Customer. Its name and email change
 * in Nudges (sent to Stripe by the outbound path) or in Stripe (the Dashboard, a
 * checkout); a Stripe change older than the client's last change changes nothing.
 * @module
 */
import { conflict, type Decider, invalid, notFound, unreachable } from "./decider.ts";
import { changed, epochSecond, isStale, type StripeChange } from "./stripe_time.ts";
import { failed, isFailedWith, linked, needsLink, type SyncStatus, unlinked } from "./sync.ts";

export type Client = {
  id: string;
  name: string;
  email: string;
  stripeCustomerId: string | null;
  syncStatus: SyncStatus;
  syncError: string | null;
  /** The Stripe customer was deleted in Stripe: nothing more is sent to it. */
  stripeCustomerDeleted: boolean;
  createdAt: string;
  updatedAt: string;
  lastChangedAt: number;
};
export type ClientChanges = { name?: string; email?: string };
export type ClientState = Client | null;

type At = { clientId: string; at: string };

export type ClientCommand =
  | { type: "CreateClient"; data: At & { name: string; email: string } }
  | { type: "UpdateClient"; data: At & ClientChanges }
  | { type: "ApplyStripeCustomerChange"; data: At & StripeChange & ClientChanges }
  | { type: "ApplyStripeCustomerDeletion"; data: At & StripeChange & { stripeCustomerId: string } }
  | { type: "LinkStripeCustomer"; data: At & { stripeCustomerId: string } }
  | { type: "UnlinkStripeCustomer"; data: At & { stripeCustomerId: string } }
  | { type: "MarkClientSyncFailed"; data: At & { error: string } };

export type ClientEvent =
  | { type: "ClientCreated"; data: At & { name: string; email: string } }
  | { type: "ClientUpdated"; data: At & { changes: ClientChanges } }
  | { type: "ClientChangedInStripe"; data: At & StripeChange & { changes: ClientChanges } }
  | { type: "StripeCustomerDeleted"; data: At & StripeChange & { stripeCustomerId: string } }
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

const validName = (name: string): string => {
  const trimmed = name.trim();
  if (trimmed === "") throw invalid("ClientNameEmpty", "a client needs a name that is not blank");
  if (trimmed.length > 250) {
    throw invalid("ClientNameTooLong", "a client name has at most 250 characters");
  }
  return trimmed;
};

const validEmail = (email: string): string => {
  const normal = email.trim().toLowerCase();
  if (!EMAIL.test(normal) || normal.length > 512) {
    throw invalid("ClientEmailInvalid", `"${email}" is not an email address`);
  }
  return normal;
};

/** The given fields, checked, that differ from the client's. */
const changesTo = (client: Client, input: ClientChanges): ClientChanges => {
  const changes: ClientChanges = {};
  if (input.name !== undefined && validName(input.name) !== client.name) {
    changes.name = validName(input.name);
  }
  if (input.email !== undefined && validEmail(input.email) !== client.email) {
    changes.email = validEmail(input.email);
  }
  return changes;
};

/** Stripe's values that Nudges can hold (a blank name or a missing email is not taken). */
const acceptable = (input: ClientChanges): ClientChanges => {
  const ok = (check: () => unknown) => {
    try {
      check();
      return true;
    } catch {
      return false;
    }
  };
  return {
    ...(input.name !== undefined && ok(() => validName(input.name!)) && { name: input.name }),
    ...(input.email !== undefined && ok(() => validEmail(input.email!)) && { email: input.email }),
  };
};

export const decide = (command: ClientCommand, state: ClientState): ClientEvent[] => {
  switch (command.type) {
    case "CreateClient": {
      const { clientId, at } = command.data;
      if (state !== null) throw conflict("ClientExists", `client ${clientId} exists already`);
      const name = validName(command.data.name);
      const email = validEmail(command.data.email);
      return [{ type: "ClientCreated", data: { clientId, at, name, email } }];
    }
    case "UpdateClient": {
      const { clientId, at, ...input } = command.data;
      const changes = changesTo(existing(state, clientId), input);
      return Object.keys(changes).length === 0
        ? []
        : [{ type: "ClientUpdated", data: { clientId, at, changes } }];
    }
    case "ApplyStripeCustomerChange": {
      const { clientId, at, stripeEventId, stripeEventCreated, ...input } = command.data;
      const client = existing(state, clientId);
      if (isStale(stripeEventCreated, client.lastChangedAt)) return [];
      const changes = changesTo(client, acceptable(input));
      return Object.keys(changes).length === 0 ? [] : [{
        type: "ClientChangedInStripe",
        data: { clientId, at, stripeEventId, stripeEventCreated, changes },
      }];
    }
    case "ApplyStripeCustomerDeletion": {
      const client = existing(state, command.data.clientId);
      return client.stripeCustomerDeleted ||
          client.stripeCustomerId !== command.data.stripeCustomerId
        ? []
        : [{ type: "StripeCustomerDeleted", data: command.data }];
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
      stripeCustomerDeleted: false,
      createdAt: at,
      updatedAt: at,
      lastChangedAt: epochSecond(at),
    };
  }
  if (state === null) return state;
  switch (event.type) {
    case "ClientUpdated":
      return changed(state, event.data.at, event.data.changes);
    case "ClientChangedInStripe":
      return changed(state, event.data.at, event.data.changes, event.data.stripeEventCreated);
    case "StripeCustomerDeleted":
      return changed(
        state,
        event.data.at,
        { stripeCustomerDeleted: true },
        event.data.stripeEventCreated,
      );
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
