// The billing mutations, Client.activePlans and onPlanSubscriptionUpdated, as a UI uses them.
import assert from "node:assert/strict";
import { createClient } from "graphql-ws";
import { stripeSdkGateway } from "../../../adapters/stripe/sdk.ts";
import { startStripeSimulator } from "../../../adapters/stripe/simulator.ts";
import { planSubscriptions } from "../../../application/shared/aggregates.ts";
import { nameBasedId } from "../../../application/shared/ids.ts";
import type { EventStore } from "../../../application/ports/event_store.ts";
import type { StripeSubscriptionState } from "../../../domain/plan_subscription.ts";
import { sellTier, setupOptions } from "../../support/inbound_pipeline.ts";
import { type Api, harness, serve, TOKEN } from "./harness.ts";
import { goldMonthly } from "../../support/stripe_outbound_fixtures.ts";

const CLIENT =
  `mutation { createClient(input: { name: "Ada", email: "ada@example.com" }) { id version } }`;

/** Stripe's word on a subscription of client `clientId` to plan-1, paid until `periodEnd`. */
const subscribed = async (
  store: EventStore,
  clientId: string,
  { status = "active", periodEnd = "2025-04-01T10:00:00.000Z", created = 100 }: {
    status?: StripeSubscriptionState["status"];
    periodEnd?: string;
    created?: number;
  } = {},
) => {
  const planSubscriptionId = nameBasedId("planSubscription", `sub_${clientId}`);
  await planSubscriptions.handle(store, {
    type: "ApplyStripeSubscription",
    data: {
      planSubscriptionId,
      at: "2025-03-01T10:00:00.000Z",
      stripeEventId: `evt_${created}`,
      stripeEventCreated: 1_740_000_000 + created,
      clientId,
      planId: "plan-1",
      priceTierId: "tier-1",
      stripeSubscriptionId: `sub_${clientId}`,
      stripeCustomerId: "cus_1",
      paymentConfirmationId: null,
      status,
      currentPeriodEnd: periodEnd,
      cancelAtPeriodEnd: false,
      canceledAt: null,
    },
  }, setupOptions());
  return planSubscriptionId;
};

const withApi =
  (body: (api: Api) => Promise<void>, gateway?: Parameters<typeof harness>[0]) => async () => {
    const api = harness(gateway);
    try {
      await body(api);
    } finally {
      await api.close();
    }
  };

Deno.test(
  "updateClient changes the name and email, with the client's version; a stale version is refused",
  withApi(async (api) => {
    const { createClient: made } = await api.data(CLIENT);
    const { updateClient } = await api.data(
      `mutation ($id: ID!) {
        updateClient(input: { id: $id, email: "Ada@King.org", expectedVersion: 0 }) { email version }
      }`,
      { id: made.id },
    );
    assert.deepEqual(updateClient, { email: "ada@king.org", version: 1 });
    const stale = await api.gql(
      `mutation ($id: ID!) { updateClient(input: { id: $id, name: "X", expectedVersion: 0 }) { id } }`,
      { id: made.id },
    );
    assert.equal(stale.body.errors[0].extensions.code, "CONFLICT");
  }),
);

Deno.test("createCheckoutSession makes the client's customer first, then a session for the tier", async () => {
  await using simulator = startStripeSimulator();
  const gateway = stripeSdkGateway({ apiKey: "sk_test_1", apiBase: simulator.url });
  const { price } = await goldMonthly(gateway);
  await withApi(async (api) => {
    await sellTier(api.store, { stripePriceId: price });
    const { createClient: made } = await api.data(CLIENT);
    const { createCheckoutSession: session } = await api.data(
      `mutation ($client: ID!) {
        createCheckoutSession(input: {
          clientId: $client, priceTierId: "tier-1",
          successUrl: "https://app.example.com/ok", cancelUrl: "https://app.example.com/no"
        }) { id url }
      }`,
      { client: made.id },
    );
    assert.match(session.id, /^cs_test_/);
    assert.equal(session.url, `${simulator.url}/c/pay/${session.id}`);
    const { client } = await api.data(`query ($id: ID!) { client(id: $id) { stripeCustomerId } }`, {
      id: made.id,
    });
    assert.match(client.stripeCustomerId, /^cus_/);
    const bad = await api.gql(
      `mutation ($client: ID!) {
        createCheckoutSession(input: {
          clientId: $client, priceTierId: "tier-1", successUrl: "javascript:x", cancelUrl: "x"
        }) { id }
      }`,
      { client: made.id },
    );
    assert.equal(bad.body.errors[0].extensions.code, "BAD_USER_INPUT");
  }, { gateway })();
});

Deno.test(
  "cancelPlanSubscription records the intent; the status waits for Stripe",
  withApi(async (api) => {
    const id = await subscribed(api.store, "client-1");
    const { cancelPlanSubscription } = await api.data(
      `mutation ($id: ID!) {
        cancelPlanSubscription(input: { id: $id }) { status cancelRequested cancelAtPeriodEnd }
      }`,
      { id },
    );
    assert.deepEqual(cancelPlanSubscription, {
      status: "active",
      cancelRequested: true,
      cancelAtPeriodEnd: false,
    });
    const events = await api.store.readStream(planSubscriptions.streamId(id));
    assert.deepEqual(events.at(-1)?.data, {
      planSubscriptionId: id,
      at: "2025-03-01T10:00:00.000Z",
      immediately: false,
      stripeSubscriptionId: "sub_client-1",
    });
    const missing = await api.gql(
      `mutation { cancelPlanSubscription(input: { id: "nope" }) { id } }`,
    );
    assert.equal(missing.body.errors[0].extensions.code, "NOT_FOUND");
  }),
);

Deno.test(
  "Client.activePlans lists plans paid for now, and not those past due or past their period",
  withApi(async (api) => {
    await sellTier(api.store);
    const query = `query ($id: ID!) { client(id: $id) { activePlans { id } } }`;
    await subscribed(api.store, "client-1");
    await subscribed(api.store, "client-2", { status: "past_due" });
    await subscribed(api.store, "client-3", { periodEnd: "2025-02-01T00:00:00.000Z" });
    for (const clientId of ["client-1", "client-2", "client-3"]) {
      await api.store.append(`client-${clientId}`, [{
        type: "ClientCreated",
        data: { clientId, at: "2025-03-01T09:00:00.000Z", name: "A", email: "a@example.com" },
        metadata: { ...setupOptions().metadata, eventId: crypto.randomUUID() },
      }], "noStream");
    }
    const plansOf = async (id: string) => {
      for (let i = 0; i < 100; i++) {
        const { client } = await api.data(query, { id });
        if (client) return client.activePlans.map((p: { id: string }) => p.id);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    assert.deepEqual(await plansOf("client-1"), ["plan-1"]);
    assert.deepEqual(await plansOf("client-2"), []);
    assert.deepEqual(await plansOf("client-3"), []);
  }),
);

Deno.test(
  "onPlanSubscriptionUpdated pushes a client's subscription changes over graphql-ws, and only theirs",
  withApi((api) =>
    serve(api, async (url) => {
      const client = createClient({
        url: url.replace(/^http/, "ws"),
        webSocketImpl: WebSocket,
        connectionParams: { Authorization: `Bearer ${TOKEN}` },
        retryAttempts: 0,
      });
      const seen: string[] = [];
      const done = new Promise<void>((resolve, reject) => {
        client.subscribe<{ onPlanSubscriptionUpdated: { clientId: string; status: string } }>({
          query:
            `subscription { onPlanSubscriptionUpdated(clientId: "client-1") { clientId status } }`,
        }, {
          next: ({ data }) => {
            seen.push(
              `${data?.onPlanSubscriptionUpdated.clientId}:${data?.onPlanSubscriptionUpdated.status}`,
            );
            if (seen.length === 2) resolve();
          },
          error: reject,
          complete: () => {},
        });
      });
      // Until the subscription is live, changes may go unseen: push until one arrives.
      for (let i = 0; seen.length === 0 && i < 200; i++) {
        await subscribed(api.store, "client-2", { created: 1000 + i });
        await subscribed(api.store, "client-1", { created: 1000 + i });
        await new Promise((r) => setTimeout(r, 20));
      }
      await subscribed(api.store, "client-1", { status: "past_due", created: 5000 });
      await done;
      await client.dispose();
      assert.ok(seen.every((s) => s.startsWith("client-1:")), seen.join());
      assert.equal(seen.at(-1), "client-1:past_due");
    })
  ),
);
