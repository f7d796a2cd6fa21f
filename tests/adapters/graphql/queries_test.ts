import assert from "node:assert/strict";
import { checkout, writer } from "../../application/projections/events.ts";
import { type Api, createPlan, createTier, TOKEN, withApi } from "./harness.ts";

/** Waits until the read model holds everything stored so far. */
const settled = async (api: Api) => {
  const last = (await api.store.readAll({ limit: 100_000 })).at(-1)?.position ?? 0;
  assert.equal(await api.projector.waitFor(last, 5000), true);
};

Deno.test(
  "plans lists active plans with their tiers in creation order",
  withApi(async (api) => {
    const gold = await createPlan(api, { name: "Gold" });
    const silver = await createPlan(api, { name: "Silver" });
    await createTier(api, gold.id, { unitAmount: 100 });
    await createTier(api, silver.id, { unitAmount: 200 });
    await createTier(api, gold.id, { unitAmount: 300 });
    await api.data(
      `mutation { updatePlan(input: { id: "${silver.id}", isActive: false }) { id } }`,
    );

    const { plans } = await api.data(`{ plans { name priceTiers { unitAmount } } }`);
    assert.deepEqual(plans, [{
      name: "Gold",
      priceTiers: [{ unitAmount: 100 }, { unitAmount: 300 }],
    }]);
    const { plans: all } = await api.data(`{ plans(includeInactive: true) { name } }`);
    assert.deepEqual(all, [{ name: "Gold" }, { name: "Silver" }]);
  }),
);

Deno.test(
  "plan, priceTier and client answer null for an id they do not know",
  withApi(async (api) => {
    const reply = await api.data(
      `{ plan(id: "nope") { id } priceTier(id: "nope") { id } client(id: "nope") { id } }`,
    );
    assert.deepEqual(reply, { plan: null, priceTier: null, client: null });
  }),
);

Deno.test(
  "clients, client, planSubscriptions and paymentConfirmations show what checkouts recorded",
  withApi(async (api) => {
    const plan = await createPlan(api);
    const tier = await createTier(api, plan.id);
    const ada = (await api.data(
      `mutation { createClient(input: { name: "Ada", email: "ada@example.com" }) { id } }`,
    )).createClient;
    const bob = (await api.data(
      `mutation { createClient(input: { name: "Bob", email: "bob@example.com" }) { id } }`,
    )).createClient;
    // Checkouts arrive from Stripe through the inbound consumer; here straight as commands.
    const w = writer(api.store);
    await checkout(w, { clientId: ada.id, planId: plan.id, priceTierId: tier.id, n: 1 });
    await checkout(w, { clientId: bob.id, planId: plan.id, priceTierId: tier.id, n: 2 });
    await settled(api);

    const reply = await api.data(
      `query($ada: ID!) {
        clients { name }
        client(id: $ada) {
          name
          subscriptions {
            id clientId planId priceTierId stripeSubscriptionId stripeCustomerId status createdAt
            paymentConfirmation { id stripeCheckoutSessionId clientId planId amountTotal currency paymentStatus createdAt }
          }
        }
        mine: planSubscriptions(clientId: $ada) { id }
        all: planSubscriptions { id }
        paymentConfirmations { id paymentStatus }
      }`,
      { ada: ada.id },
    );
    assert.deepEqual(reply.clients, [{ name: "Ada" }, { name: "Bob" }]);
    assert.deepEqual(reply.client.subscriptions, [{
      id: "sub-1",
      clientId: ada.id,
      planId: plan.id,
      priceTierId: tier.id,
      stripeSubscriptionId: "sub_stripe_1",
      stripeCustomerId: "cus_1",
      status: "active",
      createdAt: reply.client.subscriptions[0].createdAt,
      paymentConfirmation: {
        id: "pc-1",
        stripeCheckoutSessionId: "cs_test_1",
        clientId: ada.id,
        planId: plan.id,
        amountTotal: 1000,
        currency: "usd",
        paymentStatus: "paid",
        createdAt: reply.client.subscriptions[0].paymentConfirmation.createdAt,
      },
    }]);
    assert.deepEqual(reply.mine, [{ id: "sub-1" }]);
    assert.deepEqual(reply.all, [{ id: "sub-1" }, { id: "sub-2" }]);
    assert.deepEqual(reply.paymentConfirmations, [
      { id: "pc-1", paymentStatus: "paid" },
      { id: "pc-2", paymentStatus: "paid" },
    ]);
  }),
);

Deno.test(
  "streamEvents returns a stream's stored history, oldest first, data as JSON text",
  withApi(async (api) => {
    const plan = await createPlan(api, { name: "Gold" });
    await api.data(`mutation { updatePlan(input: { id: "${plan.id}", name: "Gilt" }) { id } }`);
    const { streamEvents } = await api.data(
      `query($s: String!) { streamEvents(streamId: $s) { streamId revision type data recordedAt } }`,
      { s: `plan-${plan.id}` },
    );
    assert.deepEqual(streamEvents.map((e: { type: string }) => e.type), [
      "PlanCreated",
      "PlanUpdated",
    ]);
    assert.deepEqual(streamEvents.map((e: { revision: number }) => e.revision), [0, 1]);
    assert.equal(streamEvents[0].streamId, `plan-${plan.id}`);
    assert.deepEqual(JSON.parse(streamEvents[1].data).changes, { name: "Gilt" });
    assert.ok(!Number.isNaN(Date.parse(streamEvents[0].recordedAt)));

    const { streamEvents: none } = await api.data(
      `{ streamEvents(streamId: "plan-none") { type } }`,
    );
    assert.deepEqual(none, []);
  }),
);

Deno.test(
  "a GET query works as the GraphQL-over-HTTP spec says",
  withApi(async (api) => {
    await createPlan(api, { name: "Gold" });
    const get = await api.request({
      url: `http://localhost/graphql?query=${encodeURIComponent("{ plans { name } }")}`,
      method: "GET",
      headers: { accept: "application/graphql-response+json", authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, { data: { plans: [{ name: "Gold" }] } });
  }),
);
