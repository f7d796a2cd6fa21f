import assert from "node:assert/strict";
import {
  type ClientCommand,
  clientDecider,
  type ClientEvent,
  clientStream,
} from "../../domain/client.ts";
import { spec } from "./decider_spec.ts";

const client = spec(clientDecider);
const clientId = "3c9d1e7b-2a4f-4c6e-b8d0-5f1a2e3c4d00";
// The customer of the Stripe fixtures.
const stripeCustomerId = "cus_QXg1o8vcGmoR32";
const at = (s = 0) => new Date((1721948530 + s) * 1000).toISOString();

const create = (name: string, email: string): ClientCommand => ({
  type: "CreateClient",
  data: { clientId, at: at(), name, email },
});
const created: ClientEvent = {
  type: "ClientCreated",
  data: { clientId, at: at(), name: "Ada Lovelace", email: "example@example.com" },
};
const link = (id: string): ClientCommand => ({
  type: "LinkStripeCustomer",
  data: { clientId, at: at(1), stripeCustomerId: id },
});
const linked: ClientEvent = {
  type: "StripeCustomerLinked",
  data: { clientId, at: at(1), stripeCustomerId },
};
const markFailed = (error: string): ClientCommand => ({
  type: "MarkClientSyncFailed",
  data: { clientId, at: at(2), error },
});
const failed = (error: string): ClientEvent => ({
  type: "ClientSyncFailed",
  data: { clientId, at: at(2), error },
});

// CreateClient

Deno.test("decide(CreateClient) creates a client with a trimmed name and a lower-case email", () =>
  client.given([]).when(create("  Ada Lovelace ", " Example@EXAMPLE.com ")).then([created]));

Deno.test("decide(CreateClient) refuses a name that is blank after trimming", () =>
  client.given([]).when(create("   ", "example@example.com")).thenRefused(
    "ClientNameEmpty",
    "invalid",
  ));

for (const email of ["", "example", "example@", "@example.com", "ex ample@example.com", "a@b"]) {
  Deno.test(`decide(CreateClient) refuses the email "${email}"`, () =>
    client.given([]).when(create("Ada", email)).thenRefused("ClientEmailInvalid", "invalid"));
}

Deno.test("decide(CreateClient) refuses an email longer than 512 characters", () =>
  client.given([]).when(create("Ada", `${"a".repeat(510)}@example.com`)).thenRefused(
    "ClientEmailInvalid",
    "invalid",
  ));

Deno.test("decide(CreateClient) refuses a client that exists already", () =>
  client.given([created]).when(create("Ada Lovelace", "example@example.com")).thenRefused(
    "ClientExists",
    "conflict",
  ));

// LinkStripeCustomer

Deno.test("decide(LinkStripeCustomer) links the client to its Stripe customer", () =>
  client.given([created]).when(link(stripeCustomerId)).then([linked]));

Deno.test("decide(LinkStripeCustomer) linking the same customer again produces no events", () =>
  client.given([created, linked]).when(link(stripeCustomerId)).thenNothing());

Deno.test("decide(LinkStripeCustomer) refuses a different customer than the linked one", () =>
  client.given([created, linked]).when(link("cus_Other")).thenRefused(
    "StripeLinkMismatch",
    "conflict",
    /cus_QXg1o8vcGmoR32.*cus_Other/,
  ));

Deno.test("decide(LinkStripeCustomer) refuses a client that does not exist", () =>
  client.given([]).when(link(stripeCustomerId)).thenRefused("ClientNotFound", "not_found"));

// MarkClientSyncFailed

Deno.test("decide(MarkClientSyncFailed) records Stripe's message", () =>
  client.given([created]).when(markFailed("Invalid email address"))
    .then([failed("Invalid email address")]));

Deno.test("decide(MarkClientSyncFailed) with the same message again produces no events", () =>
  client.given([created, failed("boom")]).when(markFailed("boom")).thenNothing());

Deno.test("decide(MarkClientSyncFailed) with a new message records it", () =>
  client.given([created, failed("boom")]).when(markFailed("bang")).then([failed("bang")]));

Deno.test("decide(MarkClientSyncFailed) refuses a client that does not exist", () =>
  client.given([]).when(markFailed("boom")).thenRefused("ClientNotFound", "not_found"));

// evolve

const createdState = {
  id: clientId,
  name: "Ada Lovelace",
  email: "example@example.com",
  stripeCustomerId: null,
  syncStatus: "PENDING" as const,
  syncError: null,
  stripeCustomerDeleted: false,
  createdAt: at(),
  updatedAt: at(),
  lastChangedAt: Date.parse(at()) / 1000,
};

Deno.test("evolve() starts with no client", () => client.given([]).thenState(null));

Deno.test("evolve() syncStatus goes PENDING, SYNCED on the link, FAILED with Stripe's message", () => {
  client.given([created]).thenState(createdState);
  client.given([created, linked]).thenState({
    ...createdState,
    stripeCustomerId,
    syncStatus: "SYNCED",
  });
  client.given([created, linked, failed("boom")]).thenState({
    ...createdState,
    stripeCustomerId,
    syncStatus: "FAILED",
    syncError: "boom",
  });
});

Deno.test("evolve() a link after a failure clears the error", () =>
  client.given([created, failed("Rate limited"), linked]).thenState({
    ...createdState,
    stripeCustomerId,
    syncStatus: "SYNCED",
  }));

Deno.test("clientStream() names the client's stream", () =>
  assert.equal(clientStream(clientId), `client-${clientId}`));

// Changes from Nudges and from Stripe

const changeAt = (s: number) => Math.floor(Date.parse(at(s)) / 1000);

Deno.test("decide(UpdateClient) records only the fields that change, checked", () => {
  client.given([created]).when({
    type: "UpdateClient",
    data: { clientId, at: at(5), name: "Ada Lovelace", email: " Ada@Example.org " },
  }).then([{
    type: "ClientUpdated",
    data: { clientId, at: at(5), changes: { email: "ada@example.org" } },
  }]);
  client.given([created]).when({
    type: "UpdateClient",
    data: { clientId, at: at(5), name: "Ada Lovelace" },
  }).thenNothing();
  client.given([created]).when({ type: "UpdateClient", data: { clientId, at: at(5), email: "no" } })
    .thenRefused("ClientEmailInvalid", "invalid");
  client.given([]).when({ type: "UpdateClient", data: { clientId, at: at(5), name: "X" } })
    .thenRefused("ClientNotFound", "not_found");
});

const stripeChange = (s: number, fields: { name?: string; email?: string }) => ({
  type: "ApplyStripeCustomerChange" as const,
  data: {
    clientId,
    at: at(s),
    stripeEventId: `evt_${s}`,
    stripeEventCreated: changeAt(s),
    ...fields,
  },
});

Deno.test("decide(ApplyStripeCustomerChange) takes Stripe's newer values, not older ones", () => {
  client.given([created]).when(stripeChange(60, { name: "Ada King", email: "ada@king.org" })).then([
    {
      type: "ClientChangedInStripe",
      data: {
        clientId,
        at: at(60),
        stripeEventId: "evt_60",
        stripeEventCreated: changeAt(60),
        changes: { name: "Ada King", email: "ada@king.org" },
      },
    },
  ]);
  const renamed = {
    type: "ClientUpdated" as const,
    data: { clientId, at: at(120), changes: { name: "Countess" } },
  };
  client.given([created, renamed]).when(stripeChange(60, { name: "Ada King" })).thenNothing();
});

Deno.test("decide(ApplyStripeCustomerChange) skips what Nudges cannot hold (no email)", () =>
  client.given([created]).when(stripeChange(60, { name: " ", email: "" })).thenNothing());

Deno.test("decide(ApplyStripeCustomerDeletion) marks the linked customer deleted, once", () => {
  const deletion = {
    type: "ApplyStripeCustomerDeletion" as const,
    data: {
      clientId,
      at: at(90),
      stripeEventId: "evt_d",
      stripeEventCreated: changeAt(90),
      stripeCustomerId,
    },
  };
  const deleted = { type: "StripeCustomerDeleted" as const, data: deletion.data };
  client.given([created, linked]).when(deletion).then([deleted]);
  client.given([created, linked, deleted]).when(deletion).thenNothing();
  client.given([created]).when(deletion).thenNothing();
  client.given([created, linked, deleted]).thenState({
    ...createdState,
    stripeCustomerId,
    syncStatus: "SYNCED",
    stripeCustomerDeleted: true,
    updatedAt: at(90),
    lastChangedAt: changeAt(90),
  });
});
